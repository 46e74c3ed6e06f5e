//! wick's device-independent core: the GGUF reader, tensor formats with their CPU reference code,
//! architectures that describe a model as a graph, the tokenizer and sampling.

pub mod arch;
pub mod default_model;
pub mod generate;
pub mod gguf;
pub mod graph;
pub mod quant;
pub mod sampling;
pub mod scheduler;
pub mod tokenizer;
