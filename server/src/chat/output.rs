//! Incremental parsing of generated text into content, reasoning and tool calls.
//!
//! Text arrives a token at a time, so anything that could still turn into a marker (`<tool_`,
//! a lone backtick, an opening `{` of a JSON call) is held back until it is decided. Nothing is
//! ever dropped except whitespace around tool calls: a call that does not parse, or is cut off,
//! comes back as content.

use serde_json::{Map, Number, Value};

/// How a model writes tool calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolFormat {
    /// `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>` (Qwen, Hermes).
    Hermes,
    /// A bare JSON object `{"name": ..., "parameters": {...}}`, optionally after `<|python_tag|>`
    /// (Llama 3.1+).
    Llama3Json,
    /// A fenced block ```` ```tool_code\nname(key=value)\n``` ```` (Gemma 3, as Google documents).
    Gemma,
    /// No tool syntax: everything but reasoning is content.
    None,
}

/// A piece of parsed output.
#[derive(Clone, Debug, PartialEq)]
pub enum Delta {
    Content(String),
    Reasoning(String),
    /// `arguments` is a compact JSON object.
    ToolCall {
        name: String,
        arguments: String,
    },
}

const THINK_OPEN: &str = "<think>";
const THINK_CLOSE: &str = "</think>";
const HERMES_OPEN: &str = "<tool_call>";
const HERMES_CLOSE: &str = "</tool_call>";
const FENCE: &str = "```";
const PYTHON_TAG: &str = "<|python_tag|>";
/// Fence info strings that open a tool call in Gemma output.
const FENCE_TAGS: [&str; 3] = ["tool_code", "tool_call", "json"];

enum Mode {
    /// Nothing seen but whitespace: the output may still open with `<think>`.
    Start,
    Reasoning,
    /// Just after `</think>`: the whitespace separating reasoning from the answer is dropped.
    AfterThink,
    /// Content in which tool-call markers are looked for.
    Body,
    /// Content with nothing to look for.
    Plain,
    /// Inside an opened call, until `OutputParser::close`.
    Call,
    /// The rest of the output is held, as a bare JSON or `[f(...)]` call has no closing marker:
    /// parsed at the end, or released as content once it can no longer be a call.
    Whole,
}

/// Splits a stream of generated text into [`Delta`]s.
pub struct OutputParser {
    format: ToolFormat,
    mode: Mode,
    /// Received text not yet emitted.
    buf: String,
    /// No content has been emitted since the answer began (the start of output or `</think>`).
    fresh: bool,
    /// Reasoning has been opened but nothing emitted yet (its leading newline is dropped).
    reasoning_fresh: bool,
    /// A call just closed: whitespace before the next text is dropped.
    after_call: bool,
    /// A tool call has been emitted: trailing whitespace at the end is dropped.
    any_call: bool,
    /// In `Mode::Call`: the opener's text (returned as content if the call fails) and the marker
    /// that closes the call.
    open: String,
    close: &'static str,
}

impl OutputParser {
    /// `tools`: whether the request offered tools (without them, tool syntax is plain content).
    /// `in_reasoning`: the prompt opened a reasoning block (output starts inside `<think>`).
    pub fn new(format: ToolFormat, tools: bool, in_reasoning: bool) -> OutputParser {
        let format = if tools { format } else { ToolFormat::None };
        OutputParser {
            format,
            mode: if in_reasoning {
                Mode::Reasoning
            } else {
                Mode::Start
            },
            buf: String::new(),
            fresh: true,
            reasoning_fresh: true,
            after_call: false,
            any_call: false,
            open: String::new(),
            close: "",
        }
    }

    /// Feeds newly generated text; returns what can be emitted now.
    pub fn push(&mut self, text: &str) -> Vec<Delta> {
        self.buf.push_str(text);
        let mut out = Vec::new();
        while self.step(false, &mut out) {}
        merge(out)
    }

    /// End of generation: flushes held-back text. An unterminated or unparsable tool call becomes
    /// content.
    pub fn finish(&mut self) -> Vec<Delta> {
        let mut out = Vec::new();
        while self.step(true, &mut out) {}
        merge(out)
    }

    /// Makes one move on the buffer; returns whether another may follow. With `eof`, undecided
    /// text is decided and everything is flushed.
    fn step(&mut self, eof: bool, out: &mut Vec<Delta>) -> bool {
        match &self.mode {
            Mode::Start => {
                let t = self.buf.trim_start();
                if let Some(rest) = t.strip_prefix(THINK_OPEN) {
                    self.buf = rest.to_string();
                    self.mode = Mode::Reasoning;
                    return true;
                }
                if !eof && THINK_OPEN.starts_with(t) {
                    return false;
                }
                self.mode = self.answer_mode();
                true
            }
            Mode::Reasoning => self.reasoning(eof, out),
            Mode::AfterThink => {
                let t = self.buf.trim_start();
                if t.is_empty() {
                    self.buf.clear();
                    return false;
                }
                self.buf = t.to_string();
                self.mode = self.answer_mode();
                true
            }
            Mode::Plain => {
                if !self.buf.is_empty() {
                    out.push(Delta::Content(std::mem::take(&mut self.buf)));
                }
                false
            }
            Mode::Body => self.body(eof, out),
            Mode::Call => self.call(eof, out),
            Mode::Whole => {
                if !eof {
                    if json_hopeless(&self.buf) {
                        self.mode = Mode::Plain;
                        return true;
                    }
                    return false;
                }
                let text = std::mem::take(&mut self.buf);
                match parse_calls(&text, true) {
                    Some(calls) => self.emit_calls(calls, out),
                    None => out.push(Delta::Content(text)),
                }
                self.mode = Mode::Plain;
                false
            }
        }
    }

    /// The mode in which the answer (after any reasoning) is read.
    fn answer_mode(&self) -> Mode {
        match self.format {
            ToolFormat::None => Mode::Plain,
            _ => Mode::Body,
        }
    }

    fn reasoning(&mut self, eof: bool, out: &mut Vec<Delta>) -> bool {
        if self.reasoning_fresh {
            let t = self.buf.trim_start();
            if t.is_empty() && !eof {
                self.buf.clear();
                return false;
            }
            self.buf = t.to_string();
            self.reasoning_fresh = false;
        }
        if let Some(i) = self.buf.find(THINK_CLOSE) {
            let text = self.buf[..i].trim_end();
            if !text.is_empty() {
                out.push(Delta::Reasoning(text.to_string()));
            }
            self.buf.drain(..i + THINK_CLOSE.len());
            self.mode = Mode::AfterThink;
            return true;
        }
        let keep = if eof {
            self.buf.len()
        } else {
            // Trailing whitespace waits: it is dropped if `</think>` follows.
            self.buf[..self.buf.len() - partial_suffix(&self.buf, THINK_CLOSE)]
                .trim_end()
                .len()
        };
        if keep > 0 {
            out.push(Delta::Reasoning(self.buf[..keep].to_string()));
            self.buf.drain(..keep);
        }
        false
    }

    fn call(&mut self, eof: bool, out: &mut Vec<Delta>) -> bool {
        let close = self.close;
        let Some(i) = self.buf.find(close) else {
            if eof {
                let open = std::mem::take(&mut self.open);
                self.buf.insert_str(0, &open);
                self.mode = Mode::Plain;
                return true;
            }
            return false;
        };
        let inner: String = self.buf.drain(..i + close.len()).collect();
        let inner = &inner[..i];
        let open = std::mem::take(&mut self.open);
        self.mode = Mode::Body;
        match parse_calls(inner, false) {
            Some(calls) => self.emit_calls(calls, out),
            None => {
                self.fresh = false;
                out.push(Delta::Content(format!("{open}{inner}{close}")));
            }
        }
        true
    }

    fn body(&mut self, eof: bool, out: &mut Vec<Delta>) -> bool {
        if self.after_call {
            let t = self.buf.trim_start();
            if t.is_empty() {
                self.buf.clear();
                return false;
            }
            self.buf = t.to_string();
            self.after_call = false;
        }
        if self.fresh {
            match self.opening(eof) {
                Opening::Undecided => return false,
                Opening::Whole => {
                    self.mode = Mode::Whole;
                    return true;
                }
                Opening::Text if self.format == ToolFormat::Llama3Json => {
                    // A Llama call is the whole reply; once it isn't, nothing more is looked for.
                    self.mode = Mode::Plain;
                    return true;
                }
                Opening::Text => {}
            }
        }
        match self.find_opener(eof) {
            Opener::Found { at, end, close } => {
                let before = self.buf[..at].trim_end();
                if !before.is_empty() {
                    out.push(Delta::Content(before.to_string()));
                    self.fresh = false;
                }
                // The whitespace before the opener goes with the call: dropped if it parses,
                // restored with it if not.
                self.open = self.buf[before.len()..end].to_string();
                self.close = close;
                self.buf.drain(..end);
                self.mode = Mode::Call;
                true
            }
            Opener::Partial { at } => {
                // Whitespace before a possible marker waits too: it is dropped if a call follows.
                let keep = self.buf[..at].trim_end().len();
                self.emit_content(keep, out);
                false
            }
            Opener::None if eof => {
                let rest = std::mem::take(&mut self.buf);
                // Whitespace after calls is dropped; anything else is the reply's end.
                let trailing_whitespace = self.any_call && rest.trim().is_empty();
                if !trailing_whitespace && !rest.is_empty() {
                    out.push(Delta::Content(rest));
                }
                false
            }
            Opener::None => {
                let keep = self.buf.trim_end().len();
                self.emit_content(keep, out);
                false
            }
        }
    }

    fn emit_content(&mut self, len: usize, out: &mut Vec<Delta>) {
        if len > 0 {
            out.push(Delta::Content(self.buf[..len].to_string()));
            self.buf.drain(..len);
            self.fresh = false;
        }
    }

    fn emit_calls(&mut self, calls: Vec<(String, String)>, out: &mut Vec<Delta>) {
        for (name, arguments) in calls {
            out.push(Delta::ToolCall { name, arguments });
        }
        self.any_call = true;
        self.after_call = true;
        self.fresh = false;
    }

    /// Decides, at the start of the answer, whether the reply is a call with no closing marker
    /// (held whole until the end) or text.
    fn opening(&self, eof: bool) -> Opening {
        let t = self.buf.trim_start();
        let decided = match self.format {
            ToolFormat::Llama3Json => {
                if t.starts_with('{') || t.starts_with(PYTHON_TAG) {
                    Some(Opening::Whole)
                } else if PYTHON_TAG.starts_with(t) {
                    None
                } else {
                    Some(Opening::Text)
                }
            }
            ToolFormat::Gemma => {
                if t.starts_with('{') {
                    Some(Opening::Whole)
                } else if let Some(rest) = t.strip_prefix('[') {
                    python_call_start(rest)
                } else if t.is_empty() {
                    None
                } else {
                    Some(Opening::Text)
                }
            }
            ToolFormat::Hermes | ToolFormat::None => Some(Opening::Text),
        };
        match decided {
            Some(d) => d,
            None if eof => Opening::Text,
            None => Opening::Undecided,
        }
    }

    /// Finds where a tool call opens in the buffer.
    fn find_opener(&self, eof: bool) -> Opener {
        let buf = self.buf.as_str();
        match self.format {
            ToolFormat::Hermes => {
                if let Some(at) = buf.find(HERMES_OPEN) {
                    return Opener::Found {
                        at,
                        end: at + HERMES_OPEN.len(),
                        close: HERMES_CLOSE,
                    };
                }
                let k = partial_suffix(buf, HERMES_OPEN);
                if k > 0 && !eof {
                    return Opener::Partial { at: buf.len() - k };
                }
                Opener::None
            }
            ToolFormat::Gemma => {
                let mut from = 0;
                while let Some(i) = buf[from..].find(FENCE) {
                    let at = from + i;
                    let rest = &buf[at + FENCE.len()..];
                    match rest.find('\n') {
                        Some(nl) if FENCE_TAGS.contains(&rest[..nl].trim()) => {
                            return Opener::Found {
                                at,
                                end: at + FENCE.len() + nl + 1,
                                close: FENCE,
                            };
                        }
                        // The info string is still arriving and may name a call.
                        None if !eof && could_be_fence_tag(rest) => {
                            return Opener::Partial { at };
                        }
                        _ => from = at + FENCE.len(),
                    }
                }
                let k = partial_suffix(buf, FENCE);
                if k > 0 && !eof {
                    return Opener::Partial { at: buf.len() - k };
                }
                Opener::None
            }
            ToolFormat::Llama3Json | ToolFormat::None => Opener::None,
        }
    }
}

enum Opening {
    Undecided,
    Whole,
    Text,
}

enum Opener {
    Found {
        at: usize,
        end: usize,
        close: &'static str,
    },
    /// A marker may begin at `at`; more text is needed.
    Partial {
        at: usize,
    },
    None,
}

/// Joins adjacent content and reasoning pieces, so one push yields one delta of each run.
fn merge(deltas: Vec<Delta>) -> Vec<Delta> {
    let mut out: Vec<Delta> = Vec::with_capacity(deltas.len());
    for d in deltas {
        match (out.last_mut(), d) {
            (Some(Delta::Content(a)), Delta::Content(b)) => a.push_str(&b),
            (Some(Delta::Reasoning(a)), Delta::Reasoning(b)) => a.push_str(&b),
            (_, d) => out.push(d),
        }
    }
    out
}

/// Length of the longest proper prefix of `marker` that `text` ends with.
fn partial_suffix(text: &str, marker: &str) -> usize {
    (1..marker.len())
        .rev()
        .find(|&k| text.ends_with(&marker[..k]))
        .unwrap_or(0)
}

/// Whether the text after a fence (no newline yet) may still become a tool-call info string.
fn could_be_fence_tag(rest: &str) -> bool {
    let t = rest.trim_end_matches([' ', '\t', '\r']);
    FENCE_TAGS.iter().any(|tag| tag.starts_with(t))
}

/// After a leading `[`: whether the text starts a Python-style call list (`[name(`), is text, or
/// can't tell yet.
fn python_call_start(rest: &str) -> Option<Opening> {
    let t = rest.trim_start();
    let name_len = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(t.len());
    if name_len == t.len() {
        return None;
    }
    let after = t[name_len..].trim_start();
    if after.is_empty() {
        return None;
    }
    Some(if name_len > 0 && after.starts_with('(') {
        Opening::Whole
    } else {
        Opening::Text
    })
}

/// Parses the text of one or more tool calls: JSON objects (`{"name", "arguments" |
/// "parameters"}`, alone, in an array, or separated by `;`/`,`/newlines) or Python-style calls
/// (`name(key=value)`, optionally in `[...]` or `print(...)`). `require_args`: a JSON object
/// counts as a call only with its arguments key (for replies that are bare JSON, which may just
/// be an answer in JSON).
fn parse_calls(text: &str, require_args: bool) -> Option<Vec<(String, String)>> {
    let t = text.trim();
    let t = t.strip_prefix(PYTHON_TAG).unwrap_or(t).trim_start();
    if t.is_empty() {
        return None;
    }
    json_calls(t, require_args).or_else(|| python_calls(t))
}

fn json_calls(text: &str, require_args: bool) -> Option<Vec<(String, String)>> {
    let mut rest = text;
    let mut calls = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';' || c == ',');
        if rest.is_empty() {
            break;
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let value = values.next()?.ok()?;
        rest = &rest[values.byte_offset()..];
        match value {
            Value::Array(items) => {
                for item in &items {
                    calls.push(json_call(item, require_args)?);
                }
            }
            value => calls.push(json_call(&value, require_args)?),
        }
    }
    (!calls.is_empty()).then_some(calls)
}

/// Whether held text that opened like a JSON call can no longer be one (invalid JSON, a value that
/// is not a call, or text after the calls), so it can stream as content without waiting for the
/// end.
fn json_hopeless(text: &str) -> bool {
    let t = text.trim_start();
    let mut rest = t.strip_prefix(PYTHON_TAG).unwrap_or(t).trim_start();
    if !rest.starts_with('{') {
        // Python-style calls are only judged at the end.
        return false;
    }
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';' || c == ',');
        if rest.is_empty() {
            return false;
        }
        if !rest.starts_with('{') {
            return true;
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match values.next() {
            None => return false,
            Some(Err(e)) => return !e.is_eof(),
            Some(Ok(value)) if json_call(&value, true).is_none() => return true,
            Some(Ok(_)) => rest = &rest[values.byte_offset()..],
        }
    }
}

fn json_call(value: &Value, require_args: bool) -> Option<(String, String)> {
    let obj = value.as_object()?;
    let Some(name) = obj.get("name").and_then(Value::as_str) else {
        // OpenAI's own shape, {"type": "function", "function": {...}}.
        return json_call(obj.get("function")?, require_args);
    };
    if name.is_empty() {
        return None;
    }
    let args = match obj.get("arguments").or_else(|| obj.get("parameters")) {
        Some(Value::Object(map)) => Value::Object(map.clone()),
        // Some models write the arguments as a JSON string, as the OpenAI API returns them.
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => return None,
        },
        None if !require_args => Value::Object(Map::new()),
        _ => return None,
    };
    Some((name.to_string(), args.to_string()))
}

fn python_calls(text: &str) -> Option<Vec<(String, String)>> {
    let mut p = Py { s: text, pos: 0 };
    let mut calls = Vec::new();
    p.ws();
    let bracketed = p.eat('[');
    loop {
        p.ws();
        if bracketed && p.eat(']') {
            break;
        }
        calls.push(p.call()?);
        p.ws();
        if bracketed {
            if !p.eat(',') {
                p.ws();
                p.expect(']')?;
                break;
            }
        } else {
            let _ = p.eat(',') || p.eat(';');
            p.ws();
            if p.at_end() {
                break;
            }
        }
    }
    p.ws();
    (p.at_end() && !calls.is_empty()).then_some(calls)
}

/// A small reader of Python call syntax with literal arguments.
struct Py<'a> {
    s: &'a str,
    pos: usize,
}

impl Py<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos == self.s.len()
    }

    fn ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Option<()> {
        self.eat(c).then_some(())
    }

    fn ident(&mut self) -> Option<&str> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 || rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let start = self.pos;
        self.pos += len;
        Some(&self.s[start..self.pos])
    }

    /// `name(key=value, ...)`; a dotted name keeps its dots except Gemini's `default_api.`, and
    /// `print(call)` is unwrapped.
    fn call(&mut self) -> Option<(String, String)> {
        let mut name = self.ident()?.to_string();
        while self.eat('.') {
            name.push('.');
            name.push_str(self.ident()?);
        }
        self.ws();
        self.expect('(')?;
        self.ws();
        if name == "print" && self.peek() != Some(')') {
            let call = self.call()?;
            self.ws();
            self.expect(')')?;
            return Some(call);
        }
        let name = name
            .strip_prefix("default_api.")
            .unwrap_or(&name)
            .to_string();
        let mut args = Map::new();
        loop {
            self.ws();
            if self.eat(')') {
                break;
            }
            let key = self.ident()?.to_string();
            self.ws();
            self.expect('=')?;
            let value = self.literal()?;
            args.insert(key, value);
            self.ws();
            if !self.eat(',') {
                self.ws();
                self.expect(')')?;
                break;
            }
        }
        Some((name, Value::Object(args).to_string()))
    }

    fn literal(&mut self) -> Option<Value> {
        self.ws();
        match self.peek()? {
            q @ ('"' | '\'') => self.string(q).map(Value::String),
            '[' => {
                self.pos += 1;
                self.sequence(']').map(Value::Array)
            }
            '(' => {
                self.pos += 1;
                self.sequence(')').map(Value::Array)
            }
            '{' => {
                self.pos += 1;
                self.dict()
            }
            c if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number(),
            _ => match self.ident()? {
                "True" | "true" => Some(Value::Bool(true)),
                "False" | "false" => Some(Value::Bool(false)),
                "None" | "null" => Some(Value::Null),
                _ => None,
            },
        }
    }

    fn sequence(&mut self, close: char) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.literal()?);
            self.ws();
            if !self.eat(',') {
                self.ws();
                self.expect(close)?;
                return Some(items);
            }
        }
    }

    fn dict(&mut self) -> Option<Value> {
        let mut map = Map::new();
        loop {
            self.ws();
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            let key = match self.literal()? {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            self.ws();
            self.expect(':')?;
            map.insert(key, self.literal()?);
            self.ws();
            if !self.eat(',') {
                self.ws();
                self.expect('}')?;
                return Some(Value::Object(map));
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E' | '_')))
            .unwrap_or(rest.len());
        let text = rest[..len].replace('_', "");
        self.pos += len;
        let text = text.strip_prefix('+').unwrap_or(&text);
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::Number(i.into()));
        }
        let f = text.parse::<f64>().ok()?;
        Number::from_f64(f).map(Value::Number)
    }

    /// A Python string literal quoted with `quote`, with its escapes.
    fn string(&mut self, quote: char) -> Option<String> {
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.pos += i + 1;
                    return Some(out);
                }
                '\\' => {
                    let (_, e) = chars.next()?;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        '\\' | '\'' | '"' => out.push(e),
                        '\n' => {}
                        'u' | 'x' => {
                            let digits = if e == 'u' { 4 } else { 2 };
                            let mut code = 0u32;
                            for _ in 0..digits {
                                code = code * 16 + chars.next()?.1.to_digit(16)?;
                            }
                            out.push(char::from_u32(code)?);
                        }
                        // Python keeps unknown escapes as written.
                        e => {
                            out.push('\\');
                            out.push(e);
                        }
                    }
                }
                c => out.push(c),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(s: &str) -> Delta {
        Delta::Content(s.to_string())
    }

    fn reasoning(s: &str) -> Delta {
        Delta::Reasoning(s.to_string())
    }

    fn call(name: &str, arguments: &str) -> Delta {
        Delta::ToolCall {
            name: name.to_string(),
            arguments: arguments.to_string(),
        }
    }

    /// Feeds `pieces` then finishes; adjacent content and reasoning are merged.
    fn run(format: ToolFormat, tools: bool, in_reasoning: bool, pieces: &[&str]) -> Vec<Delta> {
        let mut p = OutputParser::new(format, tools, in_reasoning);
        let mut out = Vec::new();
        for piece in pieces {
            out.extend(p.push(piece));
        }
        out.extend(p.finish());
        merge(out)
    }

    /// Parses `text` whole, one character at a time and in pseudo-random pieces; all must agree.
    fn parse(format: ToolFormat, tools: bool, in_reasoning: bool, text: &str) -> Vec<Delta> {
        let whole = run(format, tools, in_reasoning, &[text]);
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let chars: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(
            run(format, tools, in_reasoning, &chars),
            whole,
            "1-char pieces"
        );
        for seed in 1..20u64 {
            let mut state = seed;
            let mut pieces = Vec::new();
            let mut rest = text;
            while !rest.is_empty() {
                // xorshift: cheap, reproducible piece sizes.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let mut n = (state % 12) as usize + 1;
                n = n.min(rest.len());
                while !rest.is_char_boundary(n) {
                    n += 1;
                }
                pieces.push(&rest[..n]);
                rest = &rest[n..];
            }
            assert_eq!(
                run(format, tools, in_reasoning, &pieces),
                whole,
                "seed {seed}"
            );
        }
        whole
    }

    #[test]
    fn qwen25_multiple_calls() {
        // Qwen2.5-7B-Instruct's reply in Qwen's function-calling guide (Hugging Face transformers
        // section): https://qwen.readthedocs.io/en/latest/framework/function_call.html
        let out = "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"San Francisco, CA, USA\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_temperature_date\", \"arguments\": {\"location\": \"San Francisco, CA, USA\", \"date\": \"2024-10-01\"}}\n</tool_call>";
        assert_eq!(
            parse(ToolFormat::Hermes, true, false, out),
            vec![
                call(
                    "get_current_temperature",
                    r#"{"location":"San Francisco, CA, USA"}"#
                ),
                call(
                    "get_temperature_date",
                    r#"{"location":"San Francisco, CA, USA","date":"2024-10-01"}"#
                ),
            ]
        );
    }

    #[test]
    fn qwen25_content_before_a_malformed_call() {
        // Qwen2.5-72B-Instruct, quoted in sgl-project/sglang#3960: the doubled braces make the
        // call unparsable, so it stays content, whitespace included.
        let out = "I can help you with the current temperature in San Francisco, but for the forecast, I'll need to use a different tool which I don't have at the moment. Let's start by getting the current temperature.\n<tool_call>\n{{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"San Francisco, California, USA\"}}}\n</tool_call>";
        assert_eq!(
            parse(ToolFormat::Hermes, true, false, out),
            vec![content(out)]
        );
    }

    #[test]
    fn content_before_a_call() {
        let out = "Let me check.\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n";
        assert_eq!(
            parse(ToolFormat::Hermes, true, false, out),
            vec![
                content("Let me check."),
                call("get_weather", r#"{"city":"Paris"}"#)
            ]
        );
    }

    #[test]
    fn qwen3_think_then_call() {
        // Qwen3 output in xorbitsai/inference, xinference/model/llm/tests/test_utils.py
        // (test_post_process_completion_with_thinking).
        let out = "<think>\n好的，用户问的是上海当前的天气。我需要调用get_current_weather这个工具，参数是location，也就是上海。首先确认一下工具的参数是否正确，location是必填的，所以没问题。然后生成对应的JSON请求，确保参数正确无误。最后返回工具调用的XML标签。\n</think>\n\n<tool_call>\n{\"name\": \"get_current_weather\", \"arguments\": {\"location\": \"上海\"}}\n</tool_call>";
        assert_eq!(
            parse(ToolFormat::Hermes, true, false, out),
            vec![
                reasoning(
                    "好的，用户问的是上海当前的天气。我需要调用get_current_weather这个工具，参数是location，也就是上海。首先确认一下工具的参数是否正确，location是必填的，所以没问题。然后生成对应的JSON请求，确保参数正确无误。最后返回工具调用的XML标签。"
                ),
                call("get_current_weather", r#"{"location":"上海"}"#),
            ]
        );
    }

    #[test]
    fn reasoning_opened_by_the_prompt() {
        let out = "The user greets me.\n</think>\n\nHello! How can I help?";
        assert_eq!(
            parse(ToolFormat::Hermes, false, true, out),
            vec![
                reasoning("The user greets me."),
                content("Hello! How can I help?")
            ]
        );
        // Unterminated reasoning stays reasoning.
        assert_eq!(
            parse(ToolFormat::None, false, true, "Still thinking about </thi"),
            vec![reasoning("Still thinking about </thi")]
        );
    }

    #[test]
    fn reasoning_streams_incrementally() {
        let mut p = OutputParser::new(ToolFormat::None, false, false);
        assert_eq!(p.push("<think>\nStep one"), vec![reasoning("Step one")]);
        assert_eq!(p.push(", step two.\n</th"), vec![reasoning(", step two.")]);
        assert_eq!(p.push("ink>\n\nDone"), vec![content("Done")]);
        assert_eq!(p.finish(), vec![]);
    }

    #[test]
    fn string_arguments_and_parameters_key() {
        let out = "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": 1}\"}</tool_call><tool_call>\n{\"name\": \"g\", \"parameters\": {\"y\": [true, null]}}\n</tool_call>";
        assert_eq!(
            parse(ToolFormat::Hermes, true, false, out),
            vec![call("f", r#"{"x":1}"#), call("g", r#"{"y":[true,null]}"#)]
        );
    }

    #[test]
    fn text_between_and_after_calls() {
        let out = "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\n\nThen:\n<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>\n\n";
        assert_eq!(
            parse(ToolFormat::Hermes, true, false, out),
            vec![call("a", "{}"), content("Then:"), call("b", "{}")]
        );
    }

    #[test]
    fn partial_marker_is_held_then_released() {
        let mut p = OutputParser::new(ToolFormat::Hermes, true, false);
        assert_eq!(p.push("Use a <tool"), vec![content("Use a")]);
        assert_eq!(p.push("s> tag"), vec![content(" <tools> tag")]);
        assert_eq!(p.push(" <"), vec![]);
        assert_eq!(p.finish(), vec![content(" <")]);
    }

    #[test]
    fn unterminated_call_becomes_content() {
        let out = "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"argu";
        assert_eq!(
            parse(ToolFormat::Hermes, true, false, out),
            vec![content(out)]
        );
    }

    #[test]
    fn without_tools_syntax_is_content() {
        let out = "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>";
        assert_eq!(
            parse(ToolFormat::Hermes, false, false, out),
            vec![content(out)]
        );
        assert_eq!(
            parse(ToolFormat::None, true, false, out),
            vec![content(out)]
        );
        assert_eq!(
            parse(ToolFormat::None, false, false, "<think>hm</think>\nHi  \n"),
            vec![reasoning("hm"), content("Hi  \n")]
        );
    }

    #[test]
    fn llama31_bare_json_call() {
        // Llama 3.1's reply in Meta's prompt-format guide:
        // https://www.llama.com/docs/model-cards-and-prompt-formats/llama3_1/
        let out = "{\"name\": \"get_current_conditions\", \"parameters\": {\"location\": \"Menlo Park, CA\", \"unit\": \"Fahrenheit\"}}";
        assert_eq!(
            parse(ToolFormat::Llama3Json, true, false, out),
            vec![call(
                "get_current_conditions",
                r#"{"location":"Menlo Park, CA","unit":"Fahrenheit"}"#
            )]
        );
    }

    #[test]
    fn llama32_python_tag_call() {
        // Llama-3.2-1B-Instruct's reply in SGLang's tool-calling docs (the `content` field).
        let out = "<|python_tag|>{\"name\": \"get_current_weather\", \"parameters\": {\"location\": \"Boston\", \"unit\": \"celsius\"}}";
        assert_eq!(
            parse(ToolFormat::Llama3Json, true, false, out),
            vec![call(
                "get_current_weather",
                r#"{"location":"Boston","unit":"celsius"}"#
            )]
        );
    }

    #[test]
    fn llama_several_calls_and_non_calls() {
        let out = "{\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", \"parameters\": {}}\n";
        assert_eq!(
            parse(ToolFormat::Llama3Json, true, false, out),
            vec![call("a", r#"{"x":1}"#), call("b", "{}")]
        );
        // JSON that is an answer, not a call.
        let out = "{\"name\": \"Ada\", \"age\": 36}";
        assert_eq!(
            parse(ToolFormat::Llama3Json, true, false, out),
            vec![content(out)]
        );
        let out = "{\"name\": \"a\", \"parameters\": {}} and some words";
        assert_eq!(
            parse(ToolFormat::Llama3Json, true, false, out),
            vec![content(out)]
        );
        // Text streams at once.
        let mut p = OutputParser::new(ToolFormat::Llama3Json, true, false);
        assert_eq!(p.push("The"), vec![content("The")]);
        assert_eq!(p.push(" {x}"), vec![content(" {x}")]);
        // A JSON start is held while it can still be a call.
        let mut p = OutputParser::new(ToolFormat::Llama3Json, true, false);
        assert_eq!(p.push("{\"name\": \"a\""), vec![]);
        assert_eq!(p.finish(), vec![content("{\"name\": \"a\"")]);
        let mut p = OutputParser::new(ToolFormat::Llama3Json, true, false);
        assert_eq!(p.push("{\"name\": \"a\", \"parameters\": {}}"), vec![]);
        assert_eq!(
            p.push(" is how"),
            vec![content("{\"name\": \"a\", \"parameters\": {}} is how")]
        );
        assert_eq!(p.push(" calls look"), vec![content(" calls look")]);
        let mut p = OutputParser::new(ToolFormat::Llama3Json, true, false);
        assert_eq!(p.push("{x"), vec![content("{x")]);
    }

    #[test]
    fn gemma3_tool_code_after_content() {
        // Gemma 3 27B, quoted in vllm-project/vllm#14734.
        let out = "The user query asks to filter by 'Division', which is in the 'relevant_columns'. The search term is \"tech experts\".\n```tool_code\n[filter_dataframe_by_search_term(column_name='Division', search_terms=['tech experts'])]\n```";
        assert_eq!(
            parse(ToolFormat::Gemma, true, false, out),
            vec![
                content(
                    "The user query asks to filter by 'Division', which is in the 'relevant_columns'. The search term is \"tech experts\"."
                ),
                call(
                    "filter_dataframe_by_search_term",
                    r#"{"column_name":"Division","search_terms":["tech experts"]}"#
                ),
            ]
        );
    }

    #[test]
    fn gemma_bare_python_list() {
        // The reply Google's Gemma function-calling guide shows for its Python-style prompt:
        // https://ai.google.dev/gemma/docs/capabilities/function-calling
        let out = "[get_product_name_by_PID(PID=\"807ZPKBL9V\")]";
        assert_eq!(
            parse(ToolFormat::Gemma, true, false, out),
            vec![call("get_product_name_by_PID", r#"{"PID":"807ZPKBL9V"}"#)]
        );
        // Markdown link, not a call.
        let out = "[Docs](https://example.com) say so.";
        assert_eq!(
            parse(ToolFormat::Gemma, true, false, out),
            vec![content(out)]
        );
    }

    #[test]
    fn gemma_python_literals_and_forms() {
        let out = "```tool_code\nprint(default_api.book(city=\"Lyon\", nights=2, rate=-1.5e2, ok=True, note=None, tags=('a', \"b\\n\"), extra={'k': [1, {\"z\": False}]},))\n```\n\n```tool_code\nping()\n```";
        assert_eq!(
            parse(ToolFormat::Gemma, true, false, out),
            vec![
                call(
                    "book",
                    r#"{"city":"Lyon","nights":2,"rate":-150.0,"ok":true,"note":null,"tags":["a","b\n"],"extra":{"k":[1,{"z":false}]}}"#
                ),
                call("ping", "{}"),
            ]
        );
    }

    #[test]
    fn gemma_json_forms() {
        let out = "```json\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}\n```";
        assert_eq!(
            parse(ToolFormat::Gemma, true, false, out),
            vec![call("get_weather", r#"{"city":"Oslo"}"#)]
        );
        let out = "  {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}";
        assert_eq!(
            parse(ToolFormat::Gemma, true, false, out),
            vec![call("get_weather", r#"{"city":"Oslo"}"#)]
        );
        // A JSON code block that isn't a call is content, whitespace and all.
        let out = "Here:\n```json\n{\"a\": 1}\n```\nDone.";
        assert_eq!(
            parse(ToolFormat::Gemma, true, false, out),
            vec![content(out)]
        );
    }

    #[test]
    fn gemma_other_fences_stream() {
        let out = "Example:\n```python\nprint('hi')\n```\nThat prints hi.";
        assert_eq!(
            parse(ToolFormat::Gemma, true, false, out),
            vec![content(out)]
        );
        let mut p = OutputParser::new(ToolFormat::Gemma, true, false);
        assert_eq!(p.push("See ``"), vec![content("See")]);
        assert_eq!(p.push("`py"), vec![content(" ```py")]);
        assert_eq!(p.push("thon\n"), vec![content("thon")]);
        // An unterminated tool_code block comes back whole.
        let out = "```tool_code\nget_weather(city=\"Oslo\"";
        assert_eq!(
            parse(ToolFormat::Gemma, true, false, out),
            vec![content(out)]
        );
    }

    #[test]
    fn python_call_errors_are_content() {
        for bad in [
            "```tool_code\nget_weather(\"Oslo\")\n```",
            "```tool_code\nget_weather(city=unknown)\n```",
            "```tool_code\nx = 1\n```",
        ] {
            assert_eq!(
                parse(ToolFormat::Gemma, true, false, bad),
                vec![content(bad)],
                "{bad}"
            );
        }
    }
}
