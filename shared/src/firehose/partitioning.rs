//! Firehose dynamic partitioning: inline jq key extraction ("MetadataExtraction", JQ-1.6),
//! emulated with jaq and adjusted to jq 1.6's number semantics.

use std::collections::BTreeMap;

use jaq_core::load::lex::{StrPart, Tok, Token};
use jaq_core::load::{self, parse::Def, Arena, File, Loader};
use jaq_core::{compile::Undefined, data::JustLut, native::Fun, Compiler, Ctx, Vars};
use jaq_json::{Num, Rc, Val};
use jaq_std::ValT as _;

/// Firehose's limit on a processor parameter, so on the whole query.
pub const MAX_QUERY_CHARS: usize = 5120;
/// Firehose's default quota of active partitions per delivery stream.
pub const ACTIVE_PARTITIONS_LIMIT: usize = 500;
/// Filters that would leak the host environment or end/spam our process (`halt` even calls
/// `process::exit`), the definitions built on them, and those replaced by `JQ16_DEFS`.
#[rustfmt::skip]
const REMOVED_FILTERS: &[&str] = &[
    "env", "halt", "halt_error", "stderr", "stderr_empty", "debug", "debug_empty",
    "todate", "todateiso8601",
];
/// jaq's `todate` keeps fractional seconds; jq 1.6 truncates them.
const JQ16_DEFS: &str =
    r#"def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ"); def todate: todateiso8601;"#;
/// `def` allows unbounded recursion (a stack overflow aborts the process); these generators
/// loop or allocate without bound whatever the record. Partition keys never need them.
#[rustfmt::skip]
const REFUSED_WORDS: &[&str] =
    &["def", "recurse", "repeat", "while", "until", "range", "combinations"];

/// A compiled MetadataExtractionQuery: one jq expression that yields an object of
/// partition keys, e.g. `{sector: .sector, day: .ts|strftime("%Y-%m-%d")}`.
pub struct KeyQuery {
    filter: jaq_core::Filter<JustLut<Val>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractionError {
    #[error("Non JSON record provided")]
    NotJson,
    /// The query failed on this record (jq's error text), produced no output, produced
    /// something that is not an object, or a key's value is null / missing / not a scalar.
    #[error("{0}")]
    Failed(String),
}

impl KeyQuery {
    /// Compiles a query; Err is a short human message of what is wrong (parse error or
    /// undefined function), suitable to show a user in an HTTP 400.
    pub fn parse(query: &str) -> Result<KeyQuery, String> {
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(format!("query is longer than {MAX_QUERY_CHARS} characters"));
        }
        // jaq's parser and compiler recurse once per nesting level or chained operator: a
        // 5120-character query needs up to ~64 MiB of stack in a debug build (a tokio worker
        // has 2 MiB, and overflowing aborts the process).
        std::thread::scope(|scope| {
            let thread = std::thread::Builder::new().stack_size(64 << 20);
            let compiling = thread.spawn_scoped(scope, || compile(query));
            let compiling = compiling.map_err(|e| format!("cannot compile the query: {e}"))?;
            let filter = compiling
                .join()
                .map_err(|_| "the query crashed the compiler")??;
            Ok(KeyQuery { filter })
        })
    }

    /// Evaluates the query on one record (raw bytes of one JSON document; leading/trailing
    /// whitespace ok; anything else — not UTF-8, not JSON, several JSON values — is NotJson).
    /// Takes the first output only. Each member of the output object becomes a key:
    /// strings raw (no quotes), numbers formatted exactly as jq 1.6 prints them,
    /// true/false as "true"/"false"; null, arrays and objects are Failed (message naming the key).
    pub fn keys(&self, record: &[u8]) -> Result<BTreeMap<String, String>, ExtractionError> {
        use ExtractionError::Failed;
        // serde_json, unlike jaq's reader, is strict JSON (no comments, NaN, ...).
        let input = serde_json::from_slice(record).map_err(|_| ExtractionError::NotJson);
        let mut input: Val = input?;
        as_jq16_numbers(&mut input);
        let ctx = Ctx::<JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let object = match self.filter.id.run((ctx, input)).next() {
            Some(Ok(Val::Obj(object))) => object,
            Some(Ok(v)) => return Err(Failed(format!("query output is not an object: {v}"))),
            // Not `unwrap_valr`: it exits the process on `halt`.
            Some(Err(exn)) => {
                let error = exn.get_err().map(|e| text(&e.into_val()));
                return Err(Failed(error.unwrap_or_else(|_| "query aborted".into())));
            }
            None => return Err(Failed("query produced no output".into())),
        };
        let key_value = |(key, value): (&Val, &Val)| {
            let Val::TStr(_) = key else {
                return Err(Failed(format!("partition key name {key} is not a string")));
            };
            let key = text(key);
            let failed = |what| Err(Failed(format!("partition key {key} is {what}")));
            let value = match value {
                Val::TStr(_) => text(value),
                Val::Bool(b) => b.to_string(),
                // jq 1.6 prints NaN as null.
                Val::Num(_) => match value.as_f64().filter(|f| !f.is_nan()) {
                    Some(f) => jq16_number(f),
                    None => return failed("null"),
                },
                Val::Null => return failed("null"),
                _ => return failed("not a string, number or boolean"),
            };
            Ok((key, value))
        };
        object.iter().map(key_value).collect()
    }
}

/// A number as jq 1.6 prints it (jq 1.6 holds every number as an f64 and prints with 17
/// significant digits, trimmed): 1.0 -> "1", 5.0 -> "5", 0.1 -> "0.1",
/// 12345678901234567890 -> "12345678901234567000", 1e16 -> "1e+16", 1.5e-7 -> "1.5e-07",
/// -0.0 -> "-0". Exponent form iff decimal point position <= -4 or > ndigits+15 (verify!),
/// two-digit exponent minimum.
pub fn jq16_number(n: f64) -> String {
    if n.is_nan() {
        return "null".to_owned();
    }
    // jq 1.6 clamps infinities to ±DBL_MAX; `{:e}` gives the shortest round-trip digits,
    // like jq's dtoa mode 0.
    let sci = format!("{:e}", n.clamp(f64::MIN, f64::MAX).abs());
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let digits = mantissa.replace('.', "");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let (decpt, ndigits) = (exp + 1, digits.len() as i32);
    let sign = if n.is_sign_negative() { "-" } else { "" };
    let body = if decpt <= -4 || decpt > ndigits + 15 {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{first}{dot}{rest}e{exp_sign}{:02}", exp.abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(-decpt as usize))
    } else if decpt >= ndigits {
        format!("{digits}{}", "0".repeat((decpt - ndigits) as usize))
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

fn compile(query: &str) -> Result<jaq_core::Filter<JustLut<Val>>, String> {
    // A query that does not lex gets its message from the loader below.
    let tokens = load::Lexer::new(query).lex().ok();
    if let Some(word) = tokens.and_then(|tokens| refused_word(&tokens)) {
        return Err(format!("`{word}` is not allowed in partition key queries"));
    }
    let arena = Arena::default();
    let file = File {
        code: query,
        path: (),
    };
    let modules = Loader::new(prelude()).load(&arena, file);
    let modules = modules.map_err(|errs| match errs.into_iter().next().map(|(_, e)| e) {
        Some(load::Error::Lex(e)) => syntax_error(query, e[0].0.as_str(), e[0].1),
        Some(load::Error::Parse(e)) => syntax_error(query, e[0].0.as_str(), e[0].1),
        _ => "modules (import/include) are not supported".to_owned(),
    })?;
    let filter = Compiler::default().with_funs(natives()).compile(modules);
    filter.map_err(|errs| {
        let undefined = errs.into_iter().flat_map(|(_, e)| e).map(undefined);
        undefined.collect::<Vec<_>>().join(", ")
    })
}

fn prelude() -> impl Iterator<Item = Def<&'static str>> {
    let defs = jaq_core::defs().chain(jaq_std::defs());
    let defs = defs
        .chain(jaq_json::defs())
        .filter(|def| !REMOVED_FILTERS.contains(&def.name));
    defs.chain(load::parse(JQ16_DEFS, |p| p.defs()).expect("JQ16_DEFS parse"))
}

fn natives() -> impl Iterator<Item = Fun<JustLut<Val>>> {
    let funs = jaq_core::funs().chain(jaq_std::funs());
    funs.chain(jaq_json::funs())
        .filter(|(name, ..)| !REMOVED_FILTERS.contains(name))
}

fn syntax_error(query: &str, expected: &str, found: &str) -> String {
    let at = load::span(query, found).start + 1;
    format!("syntax error at character {at}: expected {expected}")
}

fn undefined((name, kind): (&str, Undefined)) -> String {
    match kind {
        Undefined::Filter(arity) => format!("undefined function {name}/{arity}"),
        kind => format!("undefined {} {name}", kind.as_str()),
    }
}

/// Strings raw, anything else as JSON (jq's error values may be either).
fn text(v: &Val) -> String {
    match v {
        Val::TStr(s) => String::from_utf8_lossy(s).into_owned(),
        v => v.to_string(),
    }
}

fn refused_word<'a>(tokens: &[Token<&'a str>]) -> Option<&'a str> {
    let refused = |(i, Token(s, tok)): (usize, &Token<&'a str>)| match tok {
        // A word followed by `:` is an object key, not a call (`.range` is one Sym token).
        Tok::Word if REFUSED_WORDS.contains(s) => {
            (!matches!(tokens.get(i + 1), Some(Token(":", _)))).then_some(*s)
        }
        Tok::Block(inner) => refused_word(inner),
        Tok::Str(parts) => parts.iter().find_map(|part| match part {
            StrPart::Term(t) => refused_word(std::slice::from_ref(t)),
            _ => None,
        }),
        _ => None,
    };
    tokens.iter().enumerate().find_map(refused)
}

/// Shared across tokio tasks.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<KeyQuery>();
};

/// jq 1.6 holds every number as an f64; integral ones it prints without exponent become
/// jaq integers so that `tostring`, `"\(.)"` and indexing match jq (jaq shows `5.0` for floats).
fn as_jq16_numbers(v: &mut Val) {
    match v {
        Val::Num(_) => {
            let f = v.as_f64().unwrap_or(f64::NAN);
            let int = f.fract() == 0.0 && f.abs() < 1e16 && !(f == 0.0 && f.is_sign_negative());
            let num = if int {
                Num::Int(f as isize)
            } else {
                Num::Float(f)
            };
            *v = Val::Num(num);
        }
        Val::Arr(a) => Rc::make_mut(a).iter_mut().for_each(as_jq16_numbers),
        Val::Obj(o) => Rc::make_mut(o).values_mut().for_each(as_jq16_numbers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{io::Write, path::Path, process};
    use ExtractionError::{Failed, NotJson};

    const JQ: &str = "/usr/bin/jq";

    /// Runs `jq -c filter` on `input`; one output line per result.
    fn jq(filter: &str, input: &str) -> Vec<String> {
        let (piped, mut cmd) = (process::Stdio::piped, process::Command::new(JQ));
        let child = cmd.args(["-c", filter]).stdin(piped()).stdout(piped());
        let mut child = child.spawn().unwrap();
        let written = child.stdin.take().unwrap().write_all(input.as_bytes());
        written.unwrap();
        let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
        out.lines().map(str::to_owned).collect()
    }

    fn keys(query: &str, record: &str) -> Result<BTreeMap<String, String>, ExtractionError> {
        KeyQuery::parse(query).unwrap().keys(record.as_bytes())
    }

    #[test]
    fn jq16_number_table() {
        let table = "1.0 1|5.0 5|0.1 0.1|12345678901234567890 12345678901234567000|1e16 1e+16|\
            1.5e16 15000000000000000|1.5e-7 1.5e-07|-0.0 -0|1e-4 0.0001|1e-5 1e-05|1e100 1e+100|\
            0 0|-2.5 -2.5|inf 1.7976931348623157e+308|-inf -1.7976931348623157e+308|NaN null";
        for (n, want) in table.split('|').map(|case| case.split_once(' ').unwrap()) {
            assert_eq!(jq16_number(n.parse().unwrap()), want, "{n}");
        }
    }

    #[test]
    fn jq16_number_matches_jq() {
        if !Path::new(JQ).exists() {
            return eprintln!("{JQ} absent; skipping");
        }
        let numbers = "0 -0.0 1.0 5.0 0.1 1e-4 1e-5 0.00012345 123456789012 1e15 1e16 1e17 \
            12345678901234567890 1.7976931348623157e308 3.14159265358979 2.5e-7 100 1e100 1.5e16 \
            1.5e17 123456789012345678 5e-324 -1.5e-7";
        let ours = numbers.split(' ').map(|n| jq16_number(n.parse().unwrap()));
        let ours: Vec<_> = ours.collect();
        assert_eq!(ours, jq(".[]", &format!("[{}]", numbers.replace(' ', ","))));
    }

    #[test]
    fn keys_render_like_jq16() {
        #[rustfmt::skip]
        let cases: [(_, _, &[(&str, &str)]); 8] = [
            ("{sector: .sector}", r#"{"sector":"tech","x":1}"#, &[("sector", "tech")]),
            ("{n: .n}", r#"{"n":5.0}"#, &[("n", "5")]),
            ("{n: .n}", r#"{"n":12345678901234567890}"#, &[("n", "12345678901234567000")]),
            ("{n: (.n|tostring), m: (10/2)}", r#"{"n":5.0}"#, &[("n", "5"), ("m", "5")]),
            ("{b: .b}", r#"{"b":false}"#, &[("b", "false")]),
            (r#"{day: .ts|strftime("%Y-%m-%d")}"#, r#"{"ts":1565382027}"#, &[("day", "2019-08-09")]),
            (r#"{s: (.sector // "unknown")}"#, "{}", &[("s", "unknown")]),
            ("{a: .a, b: .b.c, n: .n}", r#" {"a":"x","b":{"c":true},"n":-1.5} "#,
             &[("a", "x"), ("b", "true"), ("n", "-1.5")]),
        ];
        for (query, record, want) in cases {
            let want = want.iter().map(|&(k, v)| (k.into(), v.into())).collect();
            assert_eq!(keys(query, record), Ok(want), "{query} on {record}");
        }
    }

    #[test]
    fn keys_failures() {
        let failed = |q, r, part: &str| matches!(keys(q, r), Err(Failed(m)) if m.contains(part));
        assert!(failed("{sector: .sector}", r#"{"x":1}"#, "sector"));
        assert!(failed("{arr: .a}", r#"{"a":[1]}"#, "arr"));
        assert!(failed(".sector", r#"{"sector":"x"}"#, "not an object"));
        assert!(failed("{b: .a.b}", r#"{"a":"str"}"#, "cannot index"));
        assert!(failed("empty", "{}", "no output"));
        assert!(failed(r#"error("boom")"#, "{}", "boom"));
        let query = KeyQuery::parse("{a: .a}").unwrap();
        #[rustfmt::skip]
        let bad_records = [&b"hello"[..], b"{\"a\":", b"{} {}", b"{\"a\":\"\xff\"}", b"", b"{} x"];
        for bad in bad_records {
            assert_eq!(query.keys(bad), Err(NotJson), "{bad:?}");
        }
    }

    #[test]
    fn parse_rejects_bad_queries() {
        #[rustfmt::skip]
        let bad = ["{a: .a", "{a: nosuchfn}", "def f: 1+f; f", "{a: .x} | env", "halt", "$ENV",
            "[range(1e9)]", "last(repeat(1))", r#""\(def f: 1; f)""#, "{x: (.a | 1 +)}"];
        for query in bad {
            let err = KeyQuery::parse(query).err();
            let err = err.unwrap_or_else(|| panic!("accepted {query}"));
            eprintln!("{query:20} -> {err}");
        }
        let padded = |n| format!("{{a: .a{}}}", " ".repeat(n));
        assert_eq!((padded(5113).len(), padded(5114).len()), (5120, 5121));
        assert!(KeyQuery::parse(&padded(5113)).is_ok());
        assert!(KeyQuery::parse(&padded(5114)).is_err_and(|e| e.contains("5120")));
        #[rustfmt::skip]
        let good = ["{a: .a}", "{range: .range, def: .def}", ".", r#"{s: (.s|split("-")[0])}"#];
        for good in good {
            assert!(KeyQuery::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn keys_match_jq() {
        if !Path::new(JQ).exists() {
            return eprintln!("{JQ} absent; skipping");
        }
        #[rustfmt::skip]
        let cases = [
            ("{sector: .sector, n: .n}", r#"{"sector":"tech","n":5.0}"#),
            ("{n: .n, m: (.n * 3), d: (.n / 7)}", r#"{"n":12345678901234567890}"#),
            (r#"{day: .ts|strftime("%Y-%m-%d"), h: .ts|strftime("%H")}"#, r#"{"ts":1565382027}"#),
            (r#"{s: (.s // "unknown"), t: (.t|tostring), u: "x\(.t)"}"#, r#"{"t":1.0}"#),
            ("{a: (.a|ascii_upcase), l: (.xs|length), f: .xs[0]}", r#"{"a":"x-y","xs":[0.1,2]}"#),
            ("{e: (.e * 1e20), small: (.e / 1e9), b: (.e > 1)}", r#"{"e":1.5}"#),
            ("{(.k): .v, t: (.ts|todate), d: (.s|fromdate)}",
             r#"{"k":"dyn","v":-0.0,"ts":1565382027.5,"s":"2019-08-09T20:20:27Z"}"#),
        ];
        for (query, record) in cases {
            let unquote = |s: String| serde_json::from_str::<String>(&s).unwrap_or(s);
            let names = jq(&format!("{query} | keys_unsorted[]"), record).into_iter();
            let values = jq(&format!("{query} | .[]"), record).into_iter();
            let want = names.map(unquote).zip(values.map(unquote)).collect();
            assert_eq!(keys(query, record), Ok(want), "{query}");
        }
    }

    #[test]
    fn deep_queries_do_not_overflow_a_tokio_sized_stack() {
        let parens = format!("{{a: {}1{}}}", "(".repeat(2556), ")".repeat(2556));
        let negations = format!("{{a: {}1}}", "-".repeat(5110));
        let thread = std::thread::Builder::new().stack_size(2 << 20);
        let run = thread.spawn(move || {
            assert!(KeyQuery::parse(&negations).is_ok());
            KeyQuery::parse(&parens).unwrap().keys(b"{}")
        });
        assert_eq!(
            run.unwrap().join().unwrap(),
            Ok(BTreeMap::from([("a".into(), "1".into())]))
        );
    }
}
