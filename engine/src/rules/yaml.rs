//! Reading the metrics and rules files: YAML with the line of every error, ids, `{placeholder}`
//! templates, and the lines of list items and keys (for messages about values serde accepted).

use std::path::Path;

use crate::config::ConfigError;

pub(crate) fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: e.location().map(|l| l.line()),
        message: e.to_string(),
    })
}

/// An id that is not `[a-z0-9_]+`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ids use lowercase letters, digits and '_' only")]
pub struct BadId;

pub(crate) fn check_id(id: &str) -> Result<(), BadId> {
    if !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Ok(())
    } else {
        Err(BadId)
    }
}

/// What is wrong with a `{placeholder}` template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template `{template}` has a `{{` without a closing `}}`")]
    Unclosed { template: String },
    #[error(
        "template `{template}` uses `{{{name}}}`, which this kind of rule does not have; it has: {known}"
    )]
    Unknown {
        template: String,
        name: String,
        known: String,
    },
}

/// Checks that every `{placeholder}` of `template` is one of `known`, and that braces pair up.
pub fn check_template(template: &str, known: &[&str]) -> Result<(), TemplateError> {
    let split = super::alert::split_placeholders(template);
    if let Some((_, name)) = split.keyed.iter().find(|(_, name)| !known.contains(name)) {
        return Err(TemplateError::Unknown {
            template: template.to_string(),
            name: name.to_string(),
            known: known.join(", "),
        });
    }
    if split.unclosed {
        return Err(TemplateError::Unclosed {
            template: template.to_string(),
        });
    }
    Ok(())
}

/// The 1-based line of the list item `- id: ID`.
pub(crate) fn item_line(text: &str, id: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            line.strip_prefix("- id:")
                .map(|rest| rest.trim().trim_matches(['"', '\'']) == id)
                .unwrap_or(false)
        })
        .map(|i| i + 1)
}

/// The 1-based line of `key:` from line index `from` to the next list item.
pub(crate) fn key_line(text: &str, from: usize, key: &str) -> Option<usize> {
    let pattern = format!("{key}:");
    for (i, line) in text.lines().enumerate().skip(from) {
        let trimmed = line.trim_start();
        if i > from && trimmed.starts_with("- id:") {
            return None;
        }
        let body = trimmed.trim_start_matches("- ");
        if body.starts_with(&pattern)
            || line.contains(&format!(" {pattern}"))
            || line.contains(&format!("{{ {pattern}"))
        {
            return Some(i + 1);
        }
    }
    None
}

/// The field names a serde struct accepts, as its derived `Deserialize` declares them: how a
/// rule kind's parameters are known without listing them twice.
pub(crate) fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    use serde::forward_to_deserialize_any;

    struct Introspect<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for Introspect<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }

        forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Introspect(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_check_braces() {
        assert!(check_template("{name} {value}", &["name", "value"]).is_ok());
        assert!(check_template("{name", &["name"])
            .unwrap_err()
            .to_string()
            .contains("without a closing"));
        assert!(check_template("{x}", &["name"]).is_err());
    }

    #[test]
    fn field_names_come_from_serde() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct P {
            above: Option<f64>,
            #[serde(rename = "do")]
            text: String,
        }
        assert_eq!(field_names::<P>(), &["above", "do"]);
    }
}
