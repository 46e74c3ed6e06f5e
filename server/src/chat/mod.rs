//! Chat formatting: rendering messages (and tools) into a prompt with the model's template, and
//! parsing the model's output back into content, reasoning and tool calls.

pub mod output;
pub mod template;
