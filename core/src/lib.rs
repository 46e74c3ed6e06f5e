//! wick's device-independent core: the GGUF reader, tensor formats with their CPU reference code,
//! architectures that describe a model as a graph, the tokenizer and sampling.

pub mod gguf;
pub mod quant;
