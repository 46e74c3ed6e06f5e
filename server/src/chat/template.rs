//! Chat templates: OpenAI-style messages (and tools) rendered into a prompt with the model's
//! Jinja template, or with a built-in one for models that ship none.
//!
//! The environment matches what `transformers` renders chat templates with (`trim_blocks`,
//! `lstrip_blocks`, no trailing newline kept, loop controls, `raise_exception`, `strftime_now`, a
//! `tojson` that does not escape HTML and spaces like Python's `json.dumps`), plus the Python
//! string and dict methods real templates call.

use std::fmt::Write as _;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::output::ToolFormat;

/// ChatML with Hermes-style tools (Qwen 2/2.5/3 and most fine-tunes). Tool results from
/// consecutive tool messages share one user turn, as Qwen's own template does.
const CHATML: &str = r#"
{%- set has_system = messages and messages[0].role == 'system' -%}
{%- if has_system or tools -%}
  {{- '<|im_start|>system\n' -}}
  {%- if has_system -%}{{- messages[0].content or '' -}}{%- endif -%}
  {%- if tools -%}
    {%- if has_system -%}{{- '\n\n' -}}{%- endif -%}
    {{- '# Tools\n\nYou can call the functions whose signatures are listed as JSON inside <tools></tools>:\n<tools>' -}}
    {%- for tool in tools -%}{{- '\n' ~ (tool | tojson) -}}{%- endfor -%}
    {{- '\n</tools>\n\nTo call a function, reply with a JSON object holding its name and arguments inside <tool_call></tool_call> tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>' -}}
  {%- endif -%}
  {{- '<|im_end|>\n' -}}
{%- endif -%}
{%- for message in (messages[1:] if has_system else messages) -%}
  {%- if message.role == 'tool' -%}
    {%- if loop.first or loop.previtem.role != 'tool' -%}{{- '<|im_start|>user' -}}{%- endif -%}
    {{- '\n<tool_response>\n' ~ (message.content or '') ~ '\n</tool_response>' -}}
    {%- if loop.last or loop.nextitem.role != 'tool' -%}{{- '<|im_end|>\n' -}}{%- endif -%}
  {%- elif message.role == 'assistant' -%}
    {{- '<|im_start|>assistant\n' ~ (message.content or '') -}}
    {%- for call in message.tool_calls or [] -%}
      {%- set fn = call.function if call.function is defined else call -%}
      {%- if message.content or not loop.first -%}{{- '\n' -}}{%- endif -%}
      {%- set args = fn.arguments if fn.arguments is string else ((fn.arguments or {}) | tojson) -%}
      {{- '<tool_call>\n{"name": ' ~ (fn.name | tojson) ~ ', "arguments": ' ~ args ~ '}\n</tool_call>' -}}
    {%- endfor -%}
    {{- '<|im_end|>\n' -}}
  {%- else -%}
    {{- '<|im_start|>' ~ message.role ~ '\n' ~ (message.content or '') ~ '<|im_end|>\n' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}
"#;

/// Llama 3 headers; tools are described in the system message and called with a bare JSON
/// object, and their results come back under the `ipython` role (Llama 3.1's convention).
const LLAMA3: &str = r#"
{{- bos_token -}}
{%- set has_system = messages and messages[0].role == 'system' -%}
{%- if has_system or tools -%}
  {{- '<|start_header_id|>system<|end_header_id|>\n\n' -}}
  {%- if tools -%}{{- 'Environment: ipython\n\n' -}}{%- endif -%}
  {%- if has_system -%}{{- (messages[0].content or '') | trim -}}{%- endif -%}
  {%- if tools -%}
    {%- if has_system -%}{{- '\n\n' -}}{%- endif -%}
    {{- 'You can call the functions below. To call one, reply with only a JSON object of the form {"name": function name, "parameters": object of argument names and values}.' -}}
    {%- for tool in tools -%}{{- '\n\n' ~ (tool | tojson(indent=4)) -}}{%- endfor -%}
  {%- endif -%}
  {{- '<|eot_id|>' -}}
{%- endif -%}
{%- for message in (messages[1:] if has_system else messages) -%}
  {%- if message.role == 'tool' -%}
    {{- '<|start_header_id|>ipython<|end_header_id|>\n\n' ~ ((message.content or '') | trim) ~ '<|eot_id|>' -}}
  {%- else -%}
    {{- '<|start_header_id|>' ~ message.role ~ '<|end_header_id|>\n\n' ~ ((message.content or '') | trim) -}}
    {%- for call in message.tool_calls or [] -%}
      {%- set fn = call.function if call.function is defined else call -%}
      {%- if message.content or not loop.first -%}{{- '\n' -}}{%- endif -%}
      {%- set args = fn.arguments if fn.arguments is string else ((fn.arguments or {}) | tojson) -%}
      {{- '{"name": ' ~ (fn.name | tojson) ~ ', "parameters": ' ~ args ~ '}' -}}
    {%- endfor -%}
    {{- '<|eot_id|>' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}{%- endif -%}
"#;

/// Gemma turns. Gemma has no system role, so the system message (and the tool list) opens the
/// first turn. Tool use follows Google's Gemma 3 convention: calls in ```tool_code``` blocks,
/// results in ```tool_output``` blocks in a user turn.
const GEMMA: &str = r#"
{{- bos_token -}}
{%- set has_system = messages and messages[0].role == 'system' -%}
{%- set ns = namespace(prefix='') -%}
{%- if has_system -%}{%- set ns.prefix = ((messages[0].content or '') | trim) ~ '\n\n' -%}{%- endif -%}
{%- if tools -%}
  {%- set ns.prefix = ns.prefix ~ 'You can call the functions described below in JSON:\n' -%}
  {%- for tool in tools -%}
    {%- set ns.prefix = ns.prefix ~ ((tool.function if tool.function is defined else tool) | tojson) ~ '\n' -%}
  {%- endfor -%}
  {%- set ns.prefix = ns.prefix ~ '\nTo call a function, reply with only a block of this form:\n```tool_code\nfunction_name(argument=value, ...)\n```\nThe result will come back in a ```tool_output``` block.\n\n' -%}
{%- endif -%}
{%- set turns = messages[1:] if has_system else messages -%}
{%- if not turns and ns.prefix -%}
  {{- '<start_of_turn>user\n' ~ (ns.prefix | trim) ~ '<end_of_turn>\n' -}}
{%- endif -%}
{%- for message in turns -%}
  {%- set prefix = ns.prefix if loop.first else '' -%}
  {%- if message.role == 'tool' -%}
    {%- if loop.first or loop.previtem.role != 'tool' -%}
      {{- '<start_of_turn>user\n' ~ prefix -}}
    {%- else -%}
      {{- '\n' -}}
    {%- endif -%}
    {{- '```tool_output\n' ~ ((message.content or '') | trim) ~ '\n```' -}}
    {%- if loop.last or loop.nextitem.role != 'tool' -%}{{- '<end_of_turn>\n' -}}{%- endif -%}
  {%- else -%}
    {%- set role = 'model' if message.role == 'assistant' else 'user' -%}
    {{- '<start_of_turn>' ~ role ~ '\n' ~ prefix ~ ((message.content or '') | trim) -}}
    {%- for call in message.tool_calls or [] -%}
      {%- set fn = call.function if call.function is defined else call -%}
      {%- if message.content or not loop.first -%}{{- '\n' -}}{%- endif -%}
      {{- '```tool_code\n' ~ fn.name ~ '(' -}}
      {%- for key, value in (fn.arguments if fn.arguments is mapping else {}) | items -%}
        {{- key ~ '=' ~ (value | python_literal) -}}{%- if not loop.last -%}{{- ', ' -}}{%- endif -%}
      {%- endfor -%}
      {{- ')\n```' -}}
    {%- endfor -%}
    {{- '<end_of_turn>\n' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}
"#;

/// The model's template.
const MAIN: &str = "chat";
/// The built-in template for the architecture, used for requests with tools when the model's
/// template ignores them.
const BUILTIN: &str = "builtin";

const ROLES: [&str; 5] = ["system", "developer", "user", "assistant", "tool"];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("chat template: syntax error{}: {detail}", at_line(*.line))]
    Syntax { line: Option<usize>, detail: String },
    /// The template refused the conversation through `raise_exception`.
    #[error("chat template: {0}")]
    Raised(String),
    #[error("chat template: error{}: {detail}", at_line(*.line))]
    Render { line: Option<usize>, detail: String },
    #[error("message {index}: {reason}")]
    Message { index: usize, reason: String },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

/// A compiled chat template with the special-token texts it is rendered with.
pub struct ChatTemplate {
    env: Environment<'static>,
    /// Whether `BUILTIN` is registered (the model's template never mentions tools).
    tools_fallback: bool,
    format: ToolFormat,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// `source`: the GGUF's `tokenizer.chat_template`, if any; else a built-in template chosen by
    /// `arch` (`general.architecture`). `bos`/`eos`: the token texts, given to the template as
    /// `bos_token`/`eos_token`.
    pub fn new(
        source: Option<&str>,
        arch: &str,
        bos: &str,
        eos: &str,
    ) -> Result<ChatTemplate, TemplateError> {
        let builtin = builtin_for(arch);
        let source = source.unwrap_or(builtin);
        let mut env = environment();
        env.add_template_owned(MAIN, source.to_string())
            .map_err(syntax_error)?;
        // Gemma's and Llama 3.0's own templates drop the request's tools; the built-in one for the
        // architecture describes them in the model's own turn format instead.
        let tools_fallback =
            source != builtin && !source.contains("tools") && same_turn_format(source, builtin);
        if tools_fallback {
            env.add_template(BUILTIN, builtin).map_err(syntax_error)?;
        }
        let mut format = detect_tool_format(source);
        if format == ToolFormat::None && tools_fallback {
            format = detect_tool_format(builtin);
        }
        Ok(ChatTemplate {
            env,
            tools_fallback,
            format,
            bos: bos.to_string(),
            eos: eos.to_string(),
        })
    }

    /// Renders OpenAI-style messages (as received in a `/v1/chat/completions` body) with optional
    /// `tools` (the request's tools array).
    pub fn render(
        &self,
        messages: &[serde_json::Value],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        let messages = messages
            .iter()
            .enumerate()
            .map(|(i, m)| normalize_message(i, m))
            .collect::<Result<Vec<_>, _>>()?;
        let tools_value = match tools {
            Some(tools) => Value::from(tools.iter().map(to_value).collect::<Vec<_>>()),
            None => Value::from(()),
        };
        let name = if tools.is_some() && self.tools_fallback {
            BUILTIN
        } else {
            MAIN
        };
        let ctx = Value::from_pairs([
            ("messages", Value::from(messages)),
            ("tools", tools_value),
            ("add_generation_prompt", Value::from(add_generation_prompt)),
            ("bos_token", Value::from(self.bos.as_str())),
            ("eos_token", Value::from(self.eos.as_str())),
        ]);
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(render_error)
    }

    /// How this template's model writes tool calls, detected from the template text (see
    /// [`detect_tool_format`]).
    pub fn tool_format(&self) -> ToolFormat {
        self.format
    }

    /// Whether the rendered prompt leaves the model inside a reasoning block (it ends with an
    /// open `<think>`, as Qwen3-style templates write when thinking is forced), so the output
    /// parser starts in reasoning mode.
    pub fn starts_in_reasoning(&self, rendered: &str) -> bool {
        rendered.trim_end().ends_with("<think>")
    }
}

/// Tool-call syntax from the template text: `<tool_call>` is Hermes (Qwen, Hermes, and Llama
/// fine-tunes that use it); Gemma turn markers are Gemma's ```tool_code```; Llama 3 headers with
/// tool support (`ipython`, `<|python_tag|>` or any use of `tools`) are Llama 3 JSON; anything
/// else has no known syntax.
fn detect_tool_format(source: &str) -> ToolFormat {
    if source.contains("<tool_call>") {
        ToolFormat::Hermes
    } else if source.contains("<start_of_turn>") {
        ToolFormat::Gemma
    } else if source.contains("<|start_header_id|>")
        && ["ipython", "<|python_tag|>", "tools"]
            .iter()
            .any(|m| source.contains(m))
    {
        ToolFormat::Llama3Json
    } else {
        ToolFormat::None
    }
}

fn builtin_for(arch: &str) -> &'static str {
    match arch {
        "gemma" | "gemma2" | "gemma3" => GEMMA,
        "llama" => LLAMA3,
        // The Qwen family and anything unknown: ChatML is the most common format.
        _ => CHATML,
    }
}

/// Whether a template writes the same turn markers as a built-in one (so the built-in can stand in
/// for it without changing the model's prompt format).
fn same_turn_format(source: &str, builtin: &str) -> bool {
    ["<start_of_turn>", "<|start_header_id|>", "<|im_start|>"]
        .iter()
        .any(|marker| source.contains(marker) && builtin.contains(marker))
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(false)
            .build()
            .expect("default delimiters are valid"),
    );
    minijinja_contrib::add_to_environment(&mut env);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function("raise_exception", raise_exception);
    env.add_function("strftime_now", strftime_now);
    env.add_filter("tojson", tojson);
    env.add_filter("python_literal", python_literal);
    env
}

/// Marks an error as the template's own `raise_exception`, so its message is reported as is.
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message.clone()).with_source(Raised(message)))
}

fn syntax_error(err: Error) -> TemplateError {
    TemplateError::Syntax {
        line: err.line(),
        detail: detail(&err),
    }
}

fn render_error(err: Error) -> TemplateError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(Raised(message)) = e.downcast_ref::<Raised>() {
            return TemplateError::Raised(message.clone());
        }
        source = e.source();
    }
    TemplateError::Render {
        line: err.line(),
        detail: detail(&err),
    }
}

fn detail(err: &Error) -> String {
    match err.detail() {
        Some(d) => format!("{}: {d}", err.kind()),
        None => err.kind().to_string(),
    }
}

/// Checks one message and brings it to the shape templates expect: text-part arrays joined into
/// a string, `developer` read as `system` (templates predate it), tool-call arguments given as a
/// JSON string parsed into an object (templates write them with `tojson`).
fn normalize_message(index: usize, message: &serde_json::Value) -> Result<Value, TemplateError> {
    use serde_json::Value as J;
    let bad = |reason: String| TemplateError::Message { index, reason };
    let obj = message
        .as_object()
        .ok_or_else(|| bad("must be an object".into()))?;
    let role = match obj.get("role") {
        None => return Err(bad("role is missing".into())),
        Some(J::String(r)) if ROLES.contains(&r.as_str()) => r.as_str(),
        Some(J::String(r)) => {
            return Err(bad(format!(
                "role must be one of {} (got \"{r}\")",
                ROLES.join(", ")
            )));
        }
        Some(_) => return Err(bad("role must be a string".into())),
    };
    let mut out = serde_json::Map::new();
    for (key, value) in obj {
        let value = match key.as_str() {
            "role" if role == "developer" => J::from("system"),
            "content" => match value {
                J::String(_) | J::Null => value.clone(),
                J::Array(parts) => J::String(join_parts(parts).map_err(bad)?),
                _ => {
                    return Err(bad(
                        "content must be a string, an array of content parts or null".into(),
                    ));
                }
            },
            "tool_calls" => match value {
                J::Null => continue,
                J::Array(calls) => J::Array(calls.iter().map(parse_arguments).collect()),
                _ => return Err(bad("tool_calls must be an array".into())),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Ok(to_value(&J::Object(out)))
}

/// Joins the text parts of a content array, a newline between parts.
fn join_parts(parts: &[serde_json::Value]) -> Result<String, String> {
    let mut text = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        match (
            part.get("type").and_then(|t| t.as_str()),
            part.get("text").and_then(|t| t.as_str()),
        ) {
            (Some("text"), Some(t)) => text.push(t),
            (Some(kind), _) if kind != "text" => {
                return Err(format!(
                    "content part {j}: type \"{kind}\" is not supported (only text)"
                ));
            }
            _ => {
                return Err(format!(
                    "content part {j}: expected {{\"type\": \"text\", \"text\": ...}}"
                ));
            }
        }
    }
    Ok(text.join("\n"))
}

/// A tool call with its `function.arguments` JSON string parsed, when it is a JSON object.
fn parse_arguments(call: &serde_json::Value) -> serde_json::Value {
    let mut call = call.clone();
    if let Some(args) = call.pointer_mut("/function/arguments")
        && let Some(parsed) = args
            .as_str()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .filter(serde_json::Value::is_object)
    {
        *args = parsed;
    }
    call
}

fn to_value(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::from(s.as_str()),
        J::Array(items) => Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        J::Object(map) => Value::from_pairs(map.iter().map(|(k, v)| (k.as_str(), to_value(v)))),
    }
}

/// `tojson` as `transformers` defines it: Python's `json.dumps` with `ensure_ascii=False` (no HTML
/// escaping), `indent`, `separators` and `ensure_ascii` honoured. `sort_keys` is accepted but
/// ignored: maps keep their insertion order, as Python's dicts do.
fn tojson(value: &Value, indent: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let indent = match indent {
        Some(v) => Some(v),
        None => kwargs.get::<Option<Value>>("indent")?,
    };
    let indent = match indent {
        Some(v) if !v.is_none() => Some(usize::try_from(v)?),
        _ => None,
    };
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    let ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    let _: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let (item_sep, key_sep) = match separators.as_deref() {
        Some([item, key]) => (item.clone(), key.clone()),
        Some(_) => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "tojson: separators must be a pair of strings",
            ));
        }
        None if indent.is_some() => (",".to_string(), ": ".to_string()),
        None => (", ".to_string(), ": ".to_string()),
    };
    let mut w = JsonWriter {
        out: String::new(),
        indent,
        item_sep,
        key_sep,
        ascii: ascii.unwrap_or(false),
    };
    w.value(value, 0)?;
    Ok(Value::from_safe_string(w.out))
}

struct JsonWriter {
    out: String,
    indent: Option<usize>,
    item_sep: String,
    key_sep: String,
    ascii: bool,
}

impl JsonWriter {
    fn value(&mut self, v: &Value, depth: usize) -> Result<(), Error> {
        match v.kind() {
            ValueKind::Undefined | ValueKind::None => self.out.push_str("null"),
            ValueKind::Bool => self
                .out
                .push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number if v.is_integer() => write!(self.out, "{v}").unwrap(),
            ValueKind::Number => self.out.push_str(&python_float(f64::try_from(v.clone())?)),
            ValueKind::String => self.string(v.as_str().unwrap_or_default()),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = v.try_iter()?.collect();
                self.container('[', ']', depth, items.len(), |w, i, depth| {
                    w.value(&items[i], depth)
                })?;
            }
            ValueKind::Map => {
                let keys: Vec<Value> = v.try_iter()?.collect();
                self.container('{', '}', depth, keys.len(), |w, i, depth| {
                    let key = &keys[i];
                    match key.as_str() {
                        Some(s) => w.string(s),
                        None => w.string(&key.to_string()),
                    }
                    w.out.push_str(&w.key_sep.clone());
                    w.value(&v.get_item(key)?, depth)
                })?;
            }
            _ => self.string(&v.to_string()),
        }
        Ok(())
    }

    fn container(
        &mut self,
        open: char,
        close: char,
        depth: usize,
        len: usize,
        mut item: impl FnMut(&mut Self, usize, usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.out.push(open);
        for i in 0..len {
            if i > 0 {
                let sep = self.item_sep.clone();
                self.out.push_str(&sep);
            }
            self.newline(depth + 1);
            item(self, i, depth + 1)?;
        }
        if len > 0 {
            self.newline(depth);
        }
        self.out.push(close);
        Ok(())
    }

    fn newline(&mut self, depth: usize) {
        if let Some(indent) = self.indent {
            self.out.push('\n');
            self.out.extend(std::iter::repeat_n(' ', indent * depth));
        }
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                c if (c as u32) < 0x20 || (self.ascii && !c.is_ascii()) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        write!(self.out, "\\u{unit:04x}").unwrap();
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// A float as Python's `repr` writes it in the common cases (`1.0`, not `1`).
fn python_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// A value as a Python literal, for writing tool calls in Python call syntax (Gemma).
fn python_literal(value: &Value) -> Result<String, Error> {
    Ok(match value.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number if value.is_integer() => value.to_string(),
        ValueKind::Number => python_float(f64::try_from(value.clone())?),
        ValueKind::Seq | ValueKind::Iterable => {
            let items = value
                .try_iter()?
                .map(|v| python_literal(&v))
                .collect::<Result<Vec<_>, _>>()?;
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items = value
                .try_iter()?
                .map(|k| {
                    Ok(format!(
                        "{}: {}",
                        python_literal(&k)?,
                        python_literal(&value.get_item(&k)?)?
                    ))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            format!("{{{}}}", items.join(", "))
        }
        // A double-quoted JSON string is also a valid Python string literal.
        _ => serde_json::Value::from(value.to_string()).to_string(),
    })
}

/// `strftime_now(format)`: the local time formatted with Python's `strftime` codes, as
/// transformers provides it.
fn strftime_now(format: String) -> String {
    jiff::Zoned::now().strftime(&format).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conversation() -> Vec<serde_json::Value> {
        vec![
            json!({"role": "system", "content": "You are helpful."}),
            json!({"role": "user", "content": "Hi"}),
            json!({"role": "assistant", "content": "Hello!"}),
            json!({"role": "user", "content": "How are you?"}),
        ]
    }

    fn weather_tool() -> serde_json::Value {
        json!({"type": "function", "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }})
    }

    /// A tool round trip: the call's arguments arrive as a JSON string, as OpenAI clients send
    /// them back.
    fn tool_conversation() -> Vec<serde_json::Value> {
        vec![
            json!({"role": "user", "content": "Weather in Paris and Rome?"}),
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}}
            ]}),
            json!({"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "18C"}),
            json!({"role": "tool", "tool_call_id": "call_2", "name": "get_weather", "content": "24C"}),
        ]
    }

    fn builtin(arch: &str) -> ChatTemplate {
        let (bos, eos) = match arch {
            "gemma3" => ("<bos>", "<eos>"),
            "llama" => ("<|begin_of_text|>", "<|eot_id|>"),
            _ => ("", "<|im_end|>"),
        };
        ChatTemplate::new(None, arch, bos, eos).unwrap()
    }

    fn from_source(source: &str) -> ChatTemplate {
        ChatTemplate::new(Some(source), "qwen2", "<s>", "</s>").unwrap()
    }

    fn user(content: &str) -> Vec<serde_json::Value> {
        vec![json!({"role": "user", "content": content})]
    }

    #[test]
    fn chatml_renders_conversation() {
        let t = builtin("qwen2");
        let body = "<|im_start|>system\nYou are helpful.<|im_end|>\n\
                    <|im_start|>user\nHi<|im_end|>\n\
                    <|im_start|>assistant\nHello!<|im_end|>\n\
                    <|im_start|>user\nHow are you?<|im_end|>\n";
        assert_eq!(t.render(&conversation(), None, false).unwrap(), body);
        assert_eq!(
            t.render(&conversation(), None, true).unwrap(),
            format!("{body}<|im_start|>assistant\n")
        );
    }

    #[test]
    fn llama3_renders_conversation() {
        let t = builtin("llama");
        let body = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>\
                    <|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>\
                    <|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>\
                    <|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>";
        assert_eq!(t.render(&conversation(), None, false).unwrap(), body);
        assert_eq!(
            t.render(&conversation(), None, true).unwrap(),
            format!("{body}<|start_header_id|>assistant<|end_header_id|>\n\n")
        );
    }

    #[test]
    fn gemma_renders_conversation() {
        let t = builtin("gemma3");
        let body = "<bos><start_of_turn>user\nYou are helpful.\n\nHi<end_of_turn>\n\
                    <start_of_turn>model\nHello!<end_of_turn>\n\
                    <start_of_turn>user\nHow are you?<end_of_turn>\n";
        assert_eq!(t.render(&conversation(), None, false).unwrap(), body);
        assert_eq!(
            t.render(&conversation(), None, true).unwrap(),
            format!("{body}<start_of_turn>model\n")
        );
    }

    #[test]
    fn chatml_renders_tools_and_tool_calls() {
        let t = builtin("qwen3");
        let text = t
            .render(&tool_conversation(), Some(&[weather_tool()]), true)
            .unwrap();
        let expected = concat!(
            "<|im_start|>system\n# Tools\n\nYou can call the functions whose signatures are listed as JSON inside <tools></tools>:\n<tools>\n",
            r#"{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}"#,
            "\n</tools>\n\nTo call a function, reply with a JSON object holding its name and arguments inside <tool_call></tool_call> tags:\n<tool_call>\n",
            r#"{"name": <function-name>, "arguments": <args-json-object>}"#,
            "\n</tool_call><|im_end|>\n",
            "<|im_start|>user\nWeather in Paris and Rome?<|im_end|>\n",
            "<|im_start|>assistant\n<tool_call>\n",
            r#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#,
            "\n</tool_call>\n<tool_call>\n",
            r#"{"name": "get_weather", "arguments": {"city": "Rome"}}"#,
            "\n</tool_call><|im_end|>\n",
            "<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\n24C\n</tool_response><|im_end|>\n",
            "<|im_start|>assistant\n",
        );
        assert_eq!(text, expected);
        assert_eq!(t.tool_format(), ToolFormat::Hermes);
    }

    #[test]
    fn llama3_renders_tools_and_tool_calls() {
        let t = builtin("llama");
        let text = t
            .render(&tool_conversation(), Some(&[weather_tool()]), true)
            .unwrap();
        assert!(text.starts_with(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n\n\
             You can call the functions below."
        ));
        // `tojson(indent=4)` as Python writes it.
        assert!(text.contains(
            "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n        \"description\": \"Weather in a city\","
        ));
        assert!(text.contains(
            "<|start_header_id|>assistant<|end_header_id|>\n\n\
             {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}\n\
             {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}<|eot_id|>"
        ));
        assert!(text.ends_with(
            "<|start_header_id|>ipython<|end_header_id|>\n\n18C<|eot_id|>\
             <|start_header_id|>ipython<|end_header_id|>\n\n24C<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        ));
        assert_eq!(t.tool_format(), ToolFormat::Llama3Json);
    }

    #[test]
    fn gemma_renders_tools_and_tool_calls() {
        let t = builtin("gemma3");
        let mut messages = vec![json!({"role": "system", "content": "Be brief."})];
        messages.extend(tool_conversation());
        let text = t.render(&messages, Some(&[weather_tool()]), true).unwrap();
        let expected = concat!(
            "<bos><start_of_turn>user\nBe brief.\n\nYou can call the functions described below in JSON:\n",
            r#"{"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}"#,
            "\n\nTo call a function, reply with only a block of this form:\n```tool_code\nfunction_name(argument=value, ...)\n```\n",
            "The result will come back in a ```tool_output``` block.\n\nWeather in Paris and Rome?<end_of_turn>\n",
            "<start_of_turn>model\n```tool_code\nget_weather(city=\"Paris\")\n```\n```tool_code\nget_weather(city=\"Rome\")\n```<end_of_turn>\n",
            "<start_of_turn>user\n```tool_output\n18C\n```\n```tool_output\n24C\n```<end_of_turn>\n",
            "<start_of_turn>model\n",
        );
        assert_eq!(text, expected);
        assert_eq!(t.tool_format(), ToolFormat::Gemma);
    }

    #[test]
    fn gemma_tool_code_writes_python_literals() {
        let t = builtin("gemma3");
        let messages = vec![json!({"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": {"a": true, "b": null, "c": [1, 2.5], "d": "x\"y"}}}
        ]})];
        assert_eq!(
            t.render(&messages, None, false).unwrap(),
            "<bos><start_of_turn>model\n```tool_code\nf(a=True, b=None, c=[1, 2.5], d=\"x\\\"y\")\n```<end_of_turn>\n"
        );
    }

    #[test]
    fn tool_call_arguments_string_round_trips() {
        let t = builtin("qwen2");
        let messages = vec![
            json!({"role": "assistant", "content": "Checking.", "tool_calls": [
                {"type": "function", "function": {"name": "f", "arguments": "{\"q\": \"a<b & c\", \"n\": 2}"}},
                {"type": "function", "function": {"name": "g", "arguments": "not json"}}
            ]}),
        ];
        assert_eq!(
            t.render(&messages, None, false).unwrap(),
            "<|im_start|>assistant\nChecking.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"q\": \"a<b & c\", \"n\": 2}}\n</tool_call>\n\
             <tool_call>\n{\"name\": \"g\", \"arguments\": not json}\n</tool_call><|im_end|>\n"
        );
    }

    #[test]
    fn source_template_python_features() {
        let source = "{%- set ns = namespace(count=0) -%}\n\
            {%- for m in messages -%}\n\
            {%- if m.role == 'system' and not loop.first -%}{{ raise_exception('System message must come first') }}{%- endif -%}\n\
            {%- set ns.count = ns.count + 1 -%}\n\
            [{{ m.role.upper() }}] {{ m.content.strip() }}{% if not loop.last %} | {% endif %}\n\
            {%- if m.content.strip().startswith('go') %}!{% endif -%}\n\
            {%- endfor -%}\n\
            {{ ' (' ~ ns.count ~ ')' }}{% for k, v in {'a': 1}.items() %} {{ k }}={{ v }}{% endfor %}\n";
        let t = from_source(source);
        let messages = vec![
            json!({"role": "user", "content": "  go now  "}),
            json!({"role": "assistant", "content": "ok"}),
        ];
        assert_eq!(
            t.render(&messages, None, true).unwrap(),
            "[USER] go now | ![ASSISTANT] ok (2) a=1"
        );
        let messages = vec![
            json!({"role": "user", "content": "hi"}),
            json!({"role": "system", "content": "late"}),
        ];
        let err = t.render(&messages, None, true).unwrap_err();
        assert!(
            matches!(&err, TemplateError::Raised(m) if m == "System message must come first"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "chat template: System message must come first"
        );
    }

    #[test]
    fn whitespace_follows_transformers() {
        // trim_blocks and lstrip_blocks on, the final newline dropped.
        let t = from_source(
            "{% for m in messages %}\n    {% if m.content %}\n{{ m.content }}\n    {% endif %}\n{% endfor %}\n",
        );
        assert_eq!(t.render(&user("x"), None, false).unwrap(), "x\n");
        let t = from_source("{{ messages[0].content }}\n");
        assert_eq!(t.render(&user("x"), None, false).unwrap(), "x");
    }

    #[test]
    fn tojson_matches_python() {
        let t = from_source(
            "{{ messages[0] | tojson }}|{{ messages[0] | tojson(indent=2) }}|{{ 'é<' | tojson(ensure_ascii=true) }}|{{ [1.0, 2] | tojson(separators=(',', ':')) }}",
        );
        let messages = vec![json!({"role": "user", "content": "<b>&'\n", "x": []})];
        assert_eq!(
            t.render(&messages, None, false).unwrap(),
            "{\"role\": \"user\", \"content\": \"<b>&'\\n\", \"x\": []}|\
             {\n  \"role\": \"user\",\n  \"content\": \"<b>&'\\n\",\n  \"x\": []\n}|\
             \"\\u00e9<\"|[1.0,2]"
        );
    }

    #[test]
    fn strftime_now_formats_the_date() {
        let t = from_source("{{ strftime_now('%Y') }}");
        let year = t.render(&user("x"), None, false).unwrap();
        assert!(year.len() == 4 && year.starts_with('2'), "{year}");
    }

    #[test]
    fn syntax_error_names_the_line() {
        let err = ChatTemplate::new(Some("a\nb\n{% for %}"), "qwen2", "", "")
            .err()
            .unwrap();
        assert!(
            matches!(err, TemplateError::Syntax { line: Some(3), .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("chat template: syntax error at line 3: "),
            "{err}"
        );
    }

    #[test]
    fn render_error_names_the_line() {
        let t = from_source("ok\n{{ messages[0].content + 1 }}");
        let err = t.render(&user("x"), None, false).unwrap_err();
        assert!(
            matches!(err, TemplateError::Render { line: Some(2), .. }),
            "{err:?}"
        );
    }

    #[test]
    fn bad_messages_name_their_index() {
        let t = builtin("qwen2");
        let check = |messages: Vec<serde_json::Value>, expected: &str| {
            let err = t.render(&messages, None, true).unwrap_err();
            assert_eq!(err.to_string(), expected);
        };
        check(
            vec![
                json!({"role": "user", "content": "a"}),
                json!({"content": "b"}),
            ],
            "message 1: role is missing",
        );
        check(
            vec![json!({"role": 5, "content": "a"})],
            "message 0: role must be a string",
        );
        check(
            vec![json!({"role": "robot", "content": "a"})],
            "message 0: role must be one of system, developer, user, assistant, tool (got \"robot\")",
        );
        check(
            vec![
                json!({"role": "user", "content": "a"}),
                json!({"role": "assistant", "content": "b"}),
                json!({"role": "user", "content": 3}),
            ],
            "message 2: content must be a string, an array of content parts or null",
        );
        check(vec![json!("hello")], "message 0: must be an object");
        check(
            vec![
                json!({"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}]}),
            ],
            "message 0: content part 1: type \"image_url\" is not supported (only text)",
        );
    }

    #[test]
    fn messages_are_normalized() {
        let t = builtin("qwen2");
        let messages = vec![
            json!({"role": "developer", "content": "Rules."}),
            json!({"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}),
        ];
        assert_eq!(
            t.render(&messages, None, false).unwrap(),
            "<|im_start|>system\nRules.<|im_end|>\n<|im_start|>user\na\nb<|im_end|>\n"
        );
    }

    /// A template in the style of Qwen2.5's (written for this test): indexing by key,
    /// `is defined` on tool calls, reassigning the loop variable, whitespace control, `tojson`,
    /// and block tags on their own lines relying on trim_blocks/lstrip_blocks.
    const QWEN_STYLE: &str = r#"
{%- if messages[0]['role'] == 'system' %}
    {%- set system = messages[0]['content'] %}
    {%- set rest = messages[1:] %}
{%- else %}
    {%- set system = 'You are a helpful assistant.' %}
    {%- set rest = messages %}
{%- endif %}
<|im_start|>system
{{ system }}
{% if tools %}

# Functions
<tools>
{% for tool in tools %}
{{ tool | tojson }}
{% endfor %}
</tools>
{%- endif %}
<|im_end|>
{% for message in rest %}
    {%- if message['role'] == 'assistant' and message.tool_calls %}
        {{- '<|im_start|>assistant' }}
        {%- if message['content'] %}
            {{- '\n' + message['content'] }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' + tool_call.name + '", "arguments": ' + tool_call.arguments | tojson + '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message['role'] == 'tool' %}
        {%- if loop.first or rest[loop.index0 - 1]['role'] != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' + message['content'] + '\n</tool_response>' }}
        {%- if loop.last or rest[loop.index0 + 1]['role'] != 'tool' %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- else %}
        {{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"#;

    #[test]
    fn qwen_style_source_template() {
        let t = from_source(QWEN_STYLE);
        assert_eq!(t.tool_format(), ToolFormat::Hermes);
        let text = t
            .render(&tool_conversation(), Some(&[weather_tool()]), true)
            .unwrap();
        let expected = concat!(
            "<|im_start|>system\nYou are a helpful assistant.\n\n# Functions\n<tools>\n",
            r#"{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}"#,
            "\n</tools><|im_end|>\n",
            "<|im_start|>user\nWeather in Paris and Rome?<|im_end|>\n",
            "<|im_start|>assistant\n<tool_call>\n",
            r#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#,
            "\n</tool_call>\n<tool_call>\n",
            r#"{"name": "get_weather", "arguments": {"city": "Rome"}}"#,
            "\n</tool_call><|im_end|>\n",
            "<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\n24C\n</tool_response><|im_end|>\n",
            "<|im_start|>assistant\n",
        );
        assert_eq!(text, expected);
        let text = t.render(&conversation(), None, false).unwrap();
        assert!(
            text.starts_with(
                "<|im_start|>system\nYou are helpful.\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn tool_format_detection() {
        assert_eq!(builtin("gemma3").tool_format(), ToolFormat::Gemma);
        assert_eq!(builtin("qwen2moe").tool_format(), ToolFormat::Hermes);
        assert_eq!(builtin("llama").tool_format(), ToolFormat::Llama3Json);
        assert_eq!(builtin("phi3").tool_format(), ToolFormat::Hermes);
        let plain = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}";
        assert_eq!(from_source(plain).tool_format(), ToolFormat::None);
    }

    #[test]
    fn tools_fall_back_to_builtin_when_the_model_template_ignores_them() {
        // Like Gemma 3's own template: no tools, turn markers shared with the built-in one.
        let source = "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m.role == 'assistant' else m.role }}\n{{ m.content | trim }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
        let t = ChatTemplate::new(Some(source), "gemma3", "<bos>", "<eos>").unwrap();
        assert_eq!(t.tool_format(), ToolFormat::Gemma);
        assert_eq!(
            t.render(&user("Hi"), None, true).unwrap(),
            "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
        );
        let with_tools = t
            .render(&user("Hi"), Some(&[weather_tool()]), true)
            .unwrap();
        assert!(with_tools.contains("```tool_code"), "{with_tools}");
    }

    #[test]
    fn reasoning_prompt_detection() {
        let t = builtin("qwen3");
        assert!(t.starts_in_reasoning("<|im_start|>assistant\n<think>\n"));
        assert!(!t.starts_in_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
        assert!(!t.starts_in_reasoning("<|im_start|>assistant\n"));
    }
}
