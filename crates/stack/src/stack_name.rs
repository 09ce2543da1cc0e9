//! The stack name, checked up front: every physical name of the stack derives from it.

use std::fmt;
use std::str::FromStr;

/// A stack name that every derived physical name can be built from: lower case letters,
/// digits and hyphens, starting with a letter, not ending with a hyphen, at most
/// [`StackName::MAX_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackName(String);

impl StackName {
    /// The longest stack name allowed. The binding limit is IAM's 64 characters for role
    /// names: the longest derived name is `<stack>-EventSourceMappingProvider-role`, 32
    /// characters more than the stack name. (Next come the S3 bucket, `<stack>-eventarchive-`
    /// plus a 12-digit account id, at most 63, and the provider function, at most 64.)
    /// `stack::names` tests that every derived name fits at this length.
    pub const MAX_LEN: usize = 32;

    /// Prefixes S3 reserves for bucket names; the archive bucket's name starts with the stack
    /// name.
    const RESERVED_PREFIXES: [&'static str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which rule a stack name breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StackNameError {
    /// Nothing was given.
    #[error("the stack name is empty; give one such as `demo`")]
    Empty,
    /// Longer than [`StackName::MAX_LEN`].
    #[error(
        "stack name `{name}` is {length} characters long; the maximum is {max}, so that every \
         name derived from it fits AWS limits (the longest, the IAM role \
         `<stack>-EventSourceMappingProvider-role`, may have at most 64 characters)"
    )]
    TooLong {
        /// The name given.
        name: String,
        /// Its length in characters.
        length: usize,
        /// [`StackName::MAX_LEN`].
        max: usize,
    },
    /// An upper case letter.
    #[error(
        "stack name `{name}` has the upper case letter `{character}` at position {position}; \
         use lower case only, because the archive bucket's name derives from the stack name \
         and S3 bucket names are lower case"
    )]
    UpperCase {
        /// The name given.
        name: String,
        /// The letter.
        character: char,
        /// Its position, counting from 1.
        position: usize,
    },
    /// A character other than a-z, 0-9 and `-`.
    #[error(
        "stack name `{name}` has `{character}` at position {position}; only lower case letters \
         a-z, digits 0-9 and hyphens `-` are allowed"
    )]
    InvalidCharacter {
        /// The name given.
        name: String,
        /// The character.
        character: char,
        /// Its position, counting from 1.
        position: usize,
    },
    /// Starts with a digit or hyphen.
    #[error(
        "stack name `{name}` starts with `{first}`; it must start with a lower case letter a-z"
    )]
    MustStartWithLetter {
        /// The name given.
        name: String,
        /// Its first character.
        first: char,
    },
    /// Ends with a hyphen.
    #[error("stack name `{name}` ends with a hyphen; it must end with a letter or digit")]
    TrailingHyphen {
        /// The name given.
        name: String,
    },
    /// Starts with a prefix S3 reserves.
    #[error(
        "stack name `{name}` starts with `{prefix}`, which S3 reserves for bucket names (the \
         archive bucket's name starts with the stack name); choose another name"
    )]
    ReservedPrefix {
        /// The name given.
        name: String,
        /// The reserved prefix.
        prefix: &'static str,
    },
}

impl FromStr for StackName {
    type Err = StackNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let owned = || name.to_owned();
        let length = name.chars().count();
        if length == 0 {
            return Err(StackNameError::Empty);
        }
        if length > Self::MAX_LEN {
            return Err(StackNameError::TooLong {
                name: owned(),
                length,
                max: Self::MAX_LEN,
            });
        }
        for (index, character) in name.chars().enumerate() {
            let position = index + 1;
            if character.is_uppercase() {
                return Err(StackNameError::UpperCase {
                    name: owned(),
                    character,
                    position,
                });
            }
            if !(character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-') {
                return Err(StackNameError::InvalidCharacter {
                    name: owned(),
                    character,
                    position,
                });
            }
        }
        if let Some(first) = name.chars().next().filter(|c| !c.is_ascii_lowercase()) {
            return Err(StackNameError::MustStartWithLetter {
                name: owned(),
                first,
            });
        }
        if name.ends_with('-') {
            return Err(StackNameError::TrailingHyphen { name: owned() });
        }
        if let Some(prefix) = Self::RESERVED_PREFIXES
            .into_iter()
            .find(|prefix| name.starts_with(prefix))
        {
            return Err(StackNameError::ReservedPrefix {
                name: owned(),
                prefix,
            });
        }
        Ok(Self(owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn good_names_are_accepted() {
        for name in [
            "demo",
            "a",
            "iot-2",
            "x1-y2-z3",
            &"a".repeat(StackName::MAX_LEN),
        ] {
            assert_eq!(name.parse::<StackName>().unwrap().as_str(), name);
        }
    }

    #[test]
    fn each_rule_is_named_in_its_error() {
        let long = "a".repeat(StackName::MAX_LEN + 1);
        let cases: [(&str, &str); 9] = [
            ("", "is empty"),
            (&long, "33 characters long; the maximum is 32"),
            ("Demo", "upper case letter `D` at position 1"),
            ("my_stack", "has `_` at position 3"),
            ("dé", "has `é` at position 2"),
            (
                "1demo",
                "starts with `1`; it must start with a lower case letter",
            ),
            (
                "-demo",
                "starts with `-`; it must start with a lower case letter",
            ),
            ("demo-", "ends with a hyphen"),
            ("xn--demo", "starts with `xn--`, which S3 reserves"),
        ];
        for (name, expected) in cases {
            let message = name.parse::<StackName>().unwrap_err().to_string();
            assert!(message.contains(expected), "{name:?}: {message}");
        }
    }
}
