//! Typed parsing: the wrappers the entry kinds' `#[derive(Deserialize)]` structs are built from,
//! and the mapping from an error's JSON path to the field [`EntryError::Invalid`] names.
//!
//! A request is parsed once, from its bytes straight into the structs of its kind (strings are
//! borrowed unless they hold escapes). Only when that parse fails is the request parsed again,
//! as a `serde_json::Value`, and deserialised from there through `serde_path_to_error`: that
//! second parse defines every refusal (invalid JSON anywhere is `Malformed`, a repeated member
//! keeps its last value as in a `Value`) and its path names the field. So the first parse must
//! accept exactly what the second accepts, with the same result; it does because:
//! - every struct is read through [`Obj`], which takes JSON objects only (serde would otherwise
//!   fill a struct from an array, positionally);
//! - members a struct does not name are read as [`AnyJson`], which checks them as a `Value`
//!   parse does (UTF-8, escapes, number range, nesting depth) where serde would only skip them;
//! - every member is an `Option`: `null` and absence both read as `None`, and whether a member
//!   is required is checked after the parse, in the kind's own order.
//!
//! A value of the wrong JSON type is refused with the reason of the wrapper's [`Refusal`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IntoDeserializer as _, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::Value;

use crate::util::{invalid, parse_object};
use crate::EntryError;

/// The reason a value of the wrong JSON type is refused with; `found` is its type ("a number").
pub(crate) trait Refusal {
    fn reason(found: &str) -> String;
}

/// Declares a [`Refusal`]: `refusal!(Name, |found| reason)`.
macro_rules! refusal {
    ($(#[$meta:meta])* $name:ident, |$found:ident| $reason:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug)]
        pub(crate) struct $name;
        impl $crate::de::Refusal for $name {
            fn reason($found: &str) -> String {
                $reason
            }
        }
    };
}
pub(crate) use refusal;

refusal!(AnObject, |found| format!(
    "must be an object, found {found}"
));
refusal!(AString, |found| format!("must be a string, found {found}"));
refusal!(AnArray, |found| format!("must be an array, found {found}"));

/// `visit_*` methods refusing the JSON types a visitor does not take, with `$w`'s reason.
macro_rules! refuse {
    ($w:ty, $de:lifetime; $($kind:ident)*) => { $(refuse!(@ $w, $de, $kind);)* };
    (@ $w:ty, $de:lifetime, boolean) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(E::custom(<$w>::reason("a boolean")))
        }
    };
    (@ $w:ty, $de:lifetime, number) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(E::custom(<$w>::reason("a number")))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(E::custom(<$w>::reason("a number")))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(E::custom(<$w>::reason("a number")))
        }
    };
    (@ $w:ty, $de:lifetime, string) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom(<$w>::reason("a string")))
        }
    };
    (@ $w:ty, $de:lifetime, null) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(E::custom(<$w>::reason("null")))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(E::custom(<$w>::reason("null")))
        }
    };
    (@ $w:ty, $de:lifetime, array) => {
        fn visit_seq<A: SeqAccess<$de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom(<$w>::reason("an array")))
        }
    };
    (@ $w:ty, $de:lifetime, object) => {
        fn visit_map<A: MapAccess<$de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom(<$w>::reason("an object")))
        }
    };
}

/// A JSON object read as the struct `T`; any other value is refused with `W`'s reason.
#[derive(Clone, Debug)]
pub(crate) struct Obj<T, W = AnObject>(T, PhantomData<W>);

impl<T, W> Obj<T, W> {
    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

impl<T, W> std::ops::Deref for Obj<T, W> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<'de, T: Deserialize<'de>, W: Refusal> Deserialize<'de> for Obj<T, W> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjVisitor<T, W>(PhantomData<(T, W)>);
        impl<'de, T: Deserialize<'de>, W: Refusal> Visitor<'de> for ObjVisitor<T, W> {
            type Value = Obj<T, W>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(Members(map)).map(|t| Obj(t, PhantomData))
            }
            refuse!(W, 'de; boolean number string null array);
        }
        deserializer.deserialize_any(ObjVisitor(PhantomData))
    }
}

/// An object's members, given to a derived struct: the members it names reach it; the others
/// are read as [`AnyJson`] and dropped.
struct Members<A>(A);

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Members<A> {
    type Error = A::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(Named {
            map: self.0,
            fields,
        })
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// A map whose keys are filtered to `fields` (a derived struct's names and aliases).
struct Named<A> {
    map: A,
    fields: &'static [&'static str],
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Named<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.map.next_key_seed(FieldName(self.fields))? {
            match key {
                Some(name) => return seed.deserialize(name.into_deserializer()).map(Some),
                None => {
                    self.map.next_value::<AnyJson>()?;
                }
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// Reads a member name: the entry of the list it equals, or `None`.
struct FieldName(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = Option<&'static str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldName {
    type Value = Option<&'static str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().copied().find(|f| *f == name))
    }
}

/// Any JSON value, checked as a `serde_json::Value` parse checks it, then dropped.
pub(crate) struct AnyJson;

impl<'de> Deserialize<'de> for AnyJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyJsonVisitor)
    }
}

struct AnyJsonVisitor;

impl<'de> Visitor<'de> for AnyJsonVisitor {
    type Value = AnyJson;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_unit<E: de::Error>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_none<E: de::Error>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnyJson, A::Error> {
        while seq.next_element::<AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyJson, A::Error> {
        while map.next_entry::<AnyJson, AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
}

/// A member that is only checked for presence (any JSON value); remembers whether it is `[]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent {
    pub(crate) empty_array: bool,
}

impl<'de> Deserialize<'de> for Sent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SentVisitor;
        impl<'de> Visitor<'de> for SentVisitor {
            type Value = Sent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Sent, E> {
                Ok(Sent { empty_array: false })
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Sent, E> {
                Ok(Sent { empty_array: false })
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Sent, E> {
                Ok(Sent { empty_array: false })
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Sent, E> {
                Ok(Sent { empty_array: false })
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Sent, E> {
                Ok(Sent { empty_array: false })
            }
            fn visit_unit<E: de::Error>(self) -> Result<Sent, E> {
                Ok(Sent { empty_array: false })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Sent, A::Error> {
                let mut seq = seq;
                let empty_array = seq.next_element::<AnyJson>()?.is_none();
                while seq.next_element::<AnyJson>()?.is_some() {}
                Ok(Sent { empty_array })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Sent, A::Error> {
                AnyJsonVisitor.visit_map(map)?;
                Ok(Sent { empty_array: false })
            }
        }
        deserializer.deserialize_any(SentVisitor)
    }
}

/// A JSON string, borrowed from the request unless it holds escapes; any other value is
/// refused with `W`'s reason.
#[derive(Clone, Debug)]
pub(crate) struct Text<'a, W = AString>(Cow<'a, str>, PhantomData<W>);

impl<W> Text<'_, W> {
    /// Whether the string is the request's own bytes, not a copy.
    #[cfg(test)]
    pub(crate) fn is_borrowed(&self) -> bool {
        matches!(self.0, Cow::Borrowed(_))
    }
}

impl<W> std::ops::Deref for Text<'_, W> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a, W: Refusal> Deserialize<'de> for Text<'a, W> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a, W>(PhantomData<(&'a (), W)>);
        impl<'de: 'a, 'a, W: Refusal> Visitor<'de> for TextVisitor<'a, W> {
            type Value = Text<'a, W>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s), PhantomData))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned()), PhantomData))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s), PhantomData))
            }
            refuse!(W, 'de; boolean number null array object);
        }
        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

/// A JSON array of `T`; any other value is refused with `W`'s reason. Its length is checked
/// after the parse (see [`crate::util::bounded`]).
#[derive(Clone, Debug)]
pub(crate) struct List<T, W = AnArray>(Vec<T>, PhantomData<W>);

impl<T, W> std::ops::Deref for List<T, W> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'de, T: Deserialize<'de>, W: Refusal> Deserialize<'de> for List<T, W> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T, W>(PhantomData<(T, W)>);
        impl<'de, T: Deserialize<'de>, W: Refusal> Visitor<'de> for ListVisitor<T, W> {
            type Value = List<T, W>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(List(items, PhantomData))
            }
            refuse!(W, 'de; boolean number string null object);
        }
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

/// Where errors are reported: an error at `path`, or below it where no longer entry matches,
/// names the field `name`. Paths write array items as `[]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    path: &'static str,
    name: &'static str,
}

impl Field {
    /// Errors at `name` and below name `name`.
    pub(crate) const fn at(name: &'static str) -> Self {
        Field { path: name, name }
    }

    /// Errors at `path` and below name `name`.
    pub(crate) const fn below(path: &'static str, name: &'static str) -> Self {
        Field { path, name }
    }
}

/// Deserialises `value` (the part of a request at `root`) as `T`, an error naming the field of
/// `fields` its path falls under (`root` itself when none does).
pub(crate) fn from_value<'a, T: Deserialize<'a>>(
    value: Value,
    root: &'static str,
    fields: &[Field],
) -> Result<T, EntryError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = field_of(root, e.path(), fields);
        invalid(field, e.into_inner().to_string())
    })
}

/// A JSON document of its own (the DSSE envelope that Rekor v1 carries as a string): `T` from
/// `text`, parsed once when it is valid; otherwise the refusal [`from_value`] gives, or
/// `Malformed` when `text` is not a JSON object.
pub(crate) fn parse_document<'a, T: Deserialize<'a>>(
    text: &'a str,
    root: &'static str,
    fields: &[Field],
) -> Result<T, EntryError> {
    if let Ok(parsed) = serde_json::from_str::<Obj<T>>(text) {
        return Ok(parsed.into_inner());
    }
    let object = parse_object(text.as_bytes())?;
    from_value::<Obj<T>>(Value::Object(object), root, fields).map(Obj::into_inner)
}

fn field_of(
    root: &'static str,
    path: &serde_path_to_error::Path,
    fields: &[Field],
) -> &'static str {
    use serde_path_to_error::Segment;
    let mut at = String::from(root);
    for segment in path {
        match segment {
            Segment::Map { key } => {
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(key);
            }
            Segment::Seq { .. } => at.push_str("[]"),
            Segment::Enum { .. } | Segment::Unknown => break,
        }
    }
    fields
        .iter()
        .filter(|f| {
            at.strip_prefix(f.path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
        .max_by_key(|f| f.path.len())
        .map_or(root, |f| f.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Inner<'a> {
        #[serde(borrow)]
        name: Option<Text<'a>>,
        #[serde(borrow)]
        items: Option<List<Obj<Item<'a>>>>,
    }

    #[derive(Debug, Deserialize)]
    struct Item<'a> {
        #[serde(borrow)]
        value: Option<Text<'a>>,
    }

    #[derive(Debug, Deserialize)]
    struct Outer<'a> {
        #[serde(borrow)]
        inner: Option<Obj<Inner<'a>>>,
    }

    const FIELDS: &[Field] = &[
        Field::at("x.inner"),
        Field::at("x.inner.name"),
        Field::at("x.inner.items"),
        Field::below("x.inner.items[].value", "x.inner.items.value"),
    ];

    fn err(v: Value) -> (&'static str, String) {
        match from_value::<Obj<Outer<'_>>>(v, "x", FIELDS) {
            Err(EntryError::Invalid { field, reason }) => (field, reason),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field_of_their_path() {
        assert_eq!(
            err(json!({"inner": {"name": 5}})),
            ("x.inner.name", "must be a string, found a number".into())
        );
        assert_eq!(
            err(json!({"inner": {"items": [{"value": "a"}, {"value": []}]}})),
            (
                "x.inner.items.value",
                "must be a string, found an array".into()
            )
        );
        // An item of the wrong type falls under the list's own field.
        assert_eq!(
            err(json!({"inner": {"items": [{}, null]}})),
            ("x.inner.items", "must be an object, found null".into())
        );
        assert_eq!(
            err(json!({"inner": "s"})),
            ("x.inner", "must be an object, found a string".into())
        );
        // The root itself when no entry matches.
        assert_eq!(
            err(json!([])),
            ("x", "must be an object, found an array".into())
        );
    }

    #[test]
    fn structs_are_objects_only_and_null_is_absent() {
        // serde would fill a struct from an array positionally; Obj refuses it.
        let positional = br#"{"inner": ["a", []]}"#;
        assert!(serde_json::from_slice::<Obj<Outer<'_>>>(positional).is_err());
        let parsed: Obj<Outer<'_>> =
            serde_json::from_slice(br#"{"inner": {"name": null, "items": null}}"#).unwrap();
        let inner = parsed.inner.as_ref().unwrap();
        assert!(inner.name.is_none() && inner.items.is_none());
        let parsed: Obj<Outer<'_>> =
            serde_json::from_slice(br#"{"inner": {"items": [{"value": "v"}, {}]}}"#).unwrap();
        let items = parsed.inner.as_ref().unwrap().items.as_ref().unwrap();
        assert_eq!(items[0].value.as_deref(), Some("v"));
        assert!(items[1].value.is_none());
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let parsed: Obj<Outer<'_>> =
            serde_json::from_slice(br#"{"inner": {"name": "plain"}}"#).unwrap();
        let name = parsed.inner.as_ref().unwrap().name.as_ref().unwrap();
        assert!(name.is_borrowed() && &**name == "plain");
        let parsed: Obj<Outer<'_>> =
            serde_json::from_slice(br#"{"inner": {"name": "a\/b"}}"#).unwrap();
        let name = parsed.inner.as_ref().unwrap().name.as_ref().unwrap();
        assert!(!name.is_borrowed() && &**name == "a/b");
    }

    #[test]
    fn unnamed_members_are_checked_as_a_value_parse_checks_them() {
        // Each is refused by `serde_json::Value` and so must be refused by the typed parse,
        // though no struct names the member.
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for bad in [
            b"{\"other\": \"\xff\"}".to_vec(),
            br#"{"other": "\ud800"}"#.to_vec(),
            br#"{"other": 1e999}"#.to_vec(),
            format!(r#"{{"other": {deep}}}"#).into_bytes(),
            b"{\"inner\": {\"other\": {\"\xff\": 1}}}".to_vec(),
        ] {
            assert!(serde_json::from_slice::<Value>(&bad).is_err());
            assert!(
                serde_json::from_slice::<Obj<Outer<'_>>>(&bad).is_err(),
                "{}",
                String::from_utf8_lossy(&bad)
            );
        }
        let parsed: Obj<Outer<'_>> =
            serde_json::from_slice(br#"{"other": {"a": [1, 2.5, "x", null, true]}}"#).unwrap();
        assert!(parsed.inner.is_none());
    }

    #[test]
    fn sent_tells_an_empty_array_from_anything_else() {
        for (v, empty) in [
            (json!([]), true),
            (json!([1]), false),
            (json!({}), false),
            (json!(""), false),
        ] {
            let s: Sent = serde_json::from_value(v).unwrap();
            assert_eq!(s.empty_array, empty);
        }
    }
}
