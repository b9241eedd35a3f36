//! The subset of Go `text/template` that upstream's `ci-issuer-metadata` templates use.
//!
//! Supported: literal text; `{{ .claim }}`; `{{ index . "claim.with/odd-chars" }}`;
//! parentheses; `eq`/`ne` on strings; `{{if COND}}…{{else}}…{{end}}`. Semantics follow upstream's
//! `template.New("").Option("missingkey=error")` over a `map[string]string`: a missing `.claim`
//! is an error, while `index` on a missing key yields "" (Go's `index` ignores `missingkey`).
//! Anything else (pipes, variables, trim markers, `range`, …) is refused at config load.

use std::collections::BTreeMap;

/// A template that failed to parse or render; the message says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(String);

fn err<T>(msg: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(msg.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Dot,
    Field(String),
    Str(String),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Expr),
    If(Expr, Vec<Node>, Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Str(std::borrow::Cow<'a, str>),
    Bool(bool),
    Dot,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    nodes: Vec<Node>,
}

/// Limits that keep a hostile config from making rendering expensive.
const MAX_TEMPLATE_LEN: usize = 4096;
const MAX_DEPTH: usize = 16;

impl Template {
    pub(crate) fn parse(src: &str) -> Result<Self, TemplateError> {
        if src.len() > MAX_TEMPLATE_LEN {
            return err(format!("template longer than {MAX_TEMPLATE_LEN} bytes"));
        }
        // Stack of open blocks: (nodes so far, Some((cond, then-nodes)) when inside an `if`
        // and already past its `else`, or the cond of an open `if`).
        enum Frame {
            Root,
            If { cond: Expr, then: Option<Vec<Node>> },
        }
        let mut stack: Vec<(Frame, Vec<Node>)> = vec![(Frame::Root, Vec::new())];
        let mut rest = src;
        while !rest.is_empty() {
            let Some(open) = rest.find("{{") else {
                push(&mut stack, Node::Text(rest.to_owned()));
                break;
            };
            if open > 0 {
                push(&mut stack, Node::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = find_close(after)?;
            let action = &after[..close];
            rest = &after[close + 2..];
            if action.starts_with('-')
                || action.ends_with('-')
                || action.trim_start().starts_with("/*")
            {
                return err(format!("unsupported template action {{{{{action}}}}}"));
            }
            let action = action.trim();
            if let Some(cond) = action.strip_prefix("if ") {
                if stack.len() > MAX_DEPTH {
                    return err("template nests too deeply");
                }
                let cond = parse_expr(cond)?;
                stack.push((Frame::If { cond, then: None }, Vec::new()));
            } else if action == "else" {
                match stack.last_mut() {
                    Some((
                        Frame::If {
                            then: then @ None, ..
                        },
                        nodes,
                    )) => {
                        *then = Some(std::mem::take(nodes));
                    }
                    _ => return err("{{else}} outside an {{if}}"),
                }
            } else if action == "end" {
                match stack.pop() {
                    Some((Frame::If { cond, then }, nodes)) => {
                        let node = match then {
                            Some(then) => Node::If(cond, then, nodes),
                            None => Node::If(cond, nodes, Vec::new()),
                        };
                        push(&mut stack, node);
                    }
                    _ => return err("{{end}} without an {{if}}"),
                }
                if stack.is_empty() {
                    return err("{{end}} without an {{if}}");
                }
            } else {
                push(&mut stack, Node::Action(parse_expr(action)?));
            }
        }
        if stack.len() != 1 {
            return err("unclosed {{if}}");
        }
        let nodes = stack.pop().map(|(_, n)| n).unwrap_or_default();
        Ok(Template { nodes })
    }

    /// Renders against `data` (claims merged over defaults).
    pub(crate) fn render(&self, data: &BTreeMap<String, String>) -> Result<String, TemplateError> {
        let mut out = String::new();
        render_nodes(&self.nodes, data, &mut out)?;
        Ok(out)
    }
}

fn push(stack: &mut [(impl Sized, Vec<Node>)], node: Node) {
    if let Some((_, nodes)) = stack.last_mut() {
        nodes.push(node);
    }
}

/// Finds the `}}` that ends an action, skipping over string literals.
fn find_close(s: &str) -> Result<usize, TemplateError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        match (in_str, b[i]) {
            (true, b'\\') => i += 1,
            (true, b'"') => in_str = false,
            (false, b'"') => in_str = true,
            (false, b'}') if b.get(i + 1) == Some(&b'}') => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    err("unterminated {{ action")
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Dot,
    Field(String),
    Str(String),
    Ident(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, TemplateError> {
    let mut toks = Vec::new();
    let mut it = s.char_indices().peekable();
    while let Some(&(_, c)) = it.peek() {
        match c {
            ' ' | '\t' => {
                it.next();
            }
            '(' => {
                it.next();
                toks.push(Tok::Open);
            }
            ')' => {
                it.next();
                toks.push(Tok::Close);
            }
            '"' => {
                it.next();
                let mut v = String::new();
                loop {
                    match it.next() {
                        None => return err("unterminated string literal"),
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match it.next() {
                            Some((_, '"')) => v.push('"'),
                            Some((_, '\\')) => v.push('\\'),
                            Some((_, 'n')) => v.push('\n'),
                            Some((_, 't')) => v.push('\t'),
                            _ => return err("unsupported escape in string literal"),
                        },
                        Some((_, ch)) => v.push(ch),
                    }
                }
                toks.push(Tok::Str(v));
            }
            '.' => {
                it.next();
                let mut name = String::new();
                while let Some(&(_, ch)) = it.peek() {
                    if ch.is_alphanumeric() || ch == '_' {
                        name.push(ch);
                        it.next();
                    } else {
                        break;
                    }
                }
                toks.push(if name.is_empty() {
                    Tok::Dot
                } else {
                    Tok::Field(name)
                });
            }
            ch if ch.is_alphabetic() => {
                let mut name = String::new();
                while let Some(&(_, ch)) = it.peek() {
                    if ch.is_alphanumeric() || ch == '_' {
                        name.push(ch);
                        it.next();
                    } else {
                        break;
                    }
                }
                toks.push(Tok::Ident(name));
            }
            other => return err(format!("unexpected {other:?} in template action")),
        }
    }
    Ok(toks)
}

fn parse_expr(s: &str) -> Result<Expr, TemplateError> {
    let toks = tokenize(s)?;
    let mut pos = 0;
    let e = parse_command(&toks, &mut pos, 0)?;
    if pos != toks.len() {
        return err(format!("unexpected trailing tokens in {s:?}"));
    }
    Ok(e)
}

/// command := operand | ident operand*
fn parse_command(toks: &[Tok], pos: &mut usize, depth: usize) -> Result<Expr, TemplateError> {
    if depth > MAX_DEPTH {
        return err("template expression nests too deeply");
    }
    match toks.get(*pos) {
        Some(Tok::Ident(name)) => {
            *pos += 1;
            let arity = match name.as_str() {
                "eq" | "ne" | "index" => 2,
                other => return err(format!("unsupported template function {other:?}")),
            };
            let mut args = Vec::new();
            while args.len() < arity {
                args.push(parse_operand(toks, pos, depth)?);
            }
            Ok(Expr::Call(name.clone(), args))
        }
        Some(_) => parse_operand(toks, pos, depth),
        None => err("empty template action"),
    }
}

fn parse_operand(toks: &[Tok], pos: &mut usize, depth: usize) -> Result<Expr, TemplateError> {
    let t = toks.get(*pos).cloned();
    *pos += 1;
    match t {
        Some(Tok::Dot) => Ok(Expr::Dot),
        Some(Tok::Field(f)) => Ok(Expr::Field(f)),
        Some(Tok::Str(s)) => Ok(Expr::Str(s)),
        Some(Tok::Open) => {
            let e = parse_command(toks, pos, depth + 1)?;
            if toks.get(*pos) != Some(&Tok::Close) {
                return err("missing ) in template expression");
            }
            *pos += 1;
            Ok(e)
        }
        Some(other) => err(format!(
            "unexpected {other:?} where an operand was expected"
        )),
        None => err("missing operand in template expression"),
    }
}

fn eval<'a>(e: &'a Expr, data: &'a BTreeMap<String, String>) -> Result<Val<'a>, TemplateError> {
    Ok(match e {
        Expr::Dot => Val::Dot,
        Expr::Str(s) => Val::Str(s.as_str().into()),
        Expr::Field(f) => match data.get(f) {
            Some(v) => Val::Str(v.as_str().into()),
            None => return err(format!("map has no entry for key {f:?}")),
        },
        Expr::Call(name, args) => {
            let a = eval(&args[0], data)?;
            let b = eval(&args[1], data)?;
            match (name.as_str(), a, b) {
                ("index", Val::Dot, Val::Str(k)) => Val::Str(
                    data.get(k.as_ref())
                        .map(String::as_str)
                        .unwrap_or("")
                        .into(),
                ),
                ("index", _, _) => return err("index needs `.` and a string key"),
                ("eq", Val::Str(x), Val::Str(y)) => Val::Bool(x == y),
                ("ne", Val::Str(x), Val::Str(y)) => Val::Bool(x != y),
                ("eq" | "ne", Val::Bool(x), Val::Bool(y)) => Val::Bool((x == y) == (name == "eq")),
                (f, _, _) => return err(format!("incompatible arguments to {f}")),
            }
        }
    })
}

fn render_nodes(
    nodes: &[Node],
    data: &BTreeMap<String, String>,
    out: &mut String,
) -> Result<(), TemplateError> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(e) => match eval(e, data)? {
                Val::Str(s) => out.push_str(&s),
                Val::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                Val::Dot => return err("cannot print the whole claim map"),
            },
            Node::If(c, then, els) => {
                let truthy = match eval(c, data)? {
                    Val::Str(s) => !s.is_empty(),
                    Val::Bool(b) => b,
                    Val::Dot => !data.is_empty(),
                };
                render_nodes(if truthy { then } else { els }, data, out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn r(t: &str, d: &BTreeMap<String, String>) -> Result<String, TemplateError> {
        Template::parse(t)?.render(d)
    }

    #[test]
    fn upstream_template_forms() {
        let d = data(&[
            ("url", "https://x"),
            ("repo", "o/r"),
            ("ref_type", "branch"),
            ("ref", "main"),
            ("oidc.circleci.com/ssh-rerun", "false"),
        ]);
        assert_eq!(r("{{ .url }}/{{ .repo }}", &d).unwrap(), "https://x/o/r");
        assert_eq!(r("{{.url}}/{{.repo}}", &d).unwrap(), "https://x/o/r");
        assert_eq!(
            r(
                r#"refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}"#,
                &d
            )
            .unwrap(),
            "refs/heads/main"
        );
        assert_eq!(
            r(r#"{{if eq (index . "oidc.circleci.com/ssh-rerun") "true"}}ssh-rerun{{ else }}""{{end}}"#, &d).unwrap(),
            "\"\""
        );
        assert_eq!(r(r#"{{(index . "missing")}}x"#, &d).unwrap(), "x");
        assert_eq!(r("plain text", &d).unwrap(), "plain text");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_templates_never_panic(t in "[{}. a-z\"()|$-]{0,80}") {
            if let Ok(p) = Template::parse(&t) {
                let _ = p.render(&data(&[("a", "b")]));
            }
        }
    }

    #[test]
    fn missing_key_is_an_error() {
        let e = r("{{ .nope }}", &data(&[])).unwrap_err();
        assert!(e.to_string().contains("nope"));
    }

    #[test]
    fn unsupported_syntax_is_refused() {
        for t in [
            "{{ .a | printf }}",
            "{{- .a }}",
            "{{ .a",
            "{{if .a}}x",
            "{{end}}",
            "{{ call .a }}",
            "{{ $x := 1 }}",
            "{{ }}",
        ] {
            assert!(Template::parse(t).is_err(), "{t}");
        }
    }
}
