//! States kept in `TEXT` columns as Rust enums: one enum per concept, used
//! alike by the models (diesel reads and writes it), the API (serde), the
//! CLI (clap) and the templates (serialized as its text).
//!
//! The columns stay `TEXT` with a `CHECK` constraint listing the values,
//! rather than PostgreSQL enum types: a value is added or dropped by
//! replacing the constraint in an ordinary transactional migration (a
//! PostgreSQL enum cannot drop a value, and adding one cannot be used in
//! the transaction that adds it), and raw SQL compares with plain string
//! literals. A row with a value the enum does not know fails to load with
//! an error naming the enum and the value.

/// Declares an enum whose values are stored as text:
///
/// ```ignore
/// text_enum! {
///     /// A post's state.
///     pub enum PostStatus {
///         /// Not public yet.
///         Draft = "draft",
///         Published = "published",
///     }
/// }
/// ```
///
/// The variants' doc comments become the CLI's help for each value.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $variant:ident = $text:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[doc = $doc])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as stored and as written in the API and the CLI.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The values as a message lists them: "a, b or c".
            pub fn one_of() -> String {
                $crate::db::text_enum::one_of(&[$($text),+])
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                Self::parse(text).ok_or_else(|| format!("must be {}, not {text:?}", Self::one_of()))
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                Self::parse(&text).ok_or_else(|| {
                    format!(
                        "{} {text:?} is none of {}",
                        stringify!($name),
                        Self::one_of()
                    )
                    .into()
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&text, &[$($text),+]))
            }
        }

        impl clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                Self::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                let value = clap::builder::PossibleValue::new(self.as_str());
                let help: &str = match self {
                    $($name::$variant => concat!($($doc),*),)+
                };
                let help = help.trim();
                Some(if help.is_empty() { value } else { value.help(help) })
            }
        }
    };
}
pub(crate) use text_enum;

/// `["a", "b", "c"]` → "a, b or c".
pub fn one_of(values: &[&str]) -> String {
    match values.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum! {
        /// A test enum.
        pub enum Colour {
            /// The colour of the sky.
            Blue = "blue",
            DarkRed = "dark-red",
        }
    }

    #[test]
    fn text_round_trips_and_unknown_values_are_named() {
        for colour in Colour::ALL {
            assert_eq!(Colour::parse(colour.as_str()), Some(*colour));
        }
        assert_eq!("dark-red".parse::<Colour>(), Ok(Colour::DarkRed));
        assert_eq!(
            "red".parse::<Colour>(),
            Err("must be blue or dark-red, not \"red\"".to_string())
        );
        assert_eq!(format!("[{:<6}]", Colour::Blue), "[blue  ]");
        assert_eq!(one_of(&["a", "b", "c"]), "a, b or c");
        assert_eq!(one_of(&["a"]), "a");
    }

    #[test]
    fn serde_and_clap_use_the_same_text() {
        assert_eq!(
            serde_json::to_string(&Colour::DarkRed).expect("json"),
            "\"dark-red\""
        );
        assert_eq!(
            serde_json::from_str::<Colour>("\"blue\"").expect("json"),
            Colour::Blue
        );
        let error = serde_json::from_str::<Colour>("\"green\"").expect_err("unknown");
        assert!(
            error.to_string().contains("unknown variant `green`"),
            "{error}"
        );
        use clap::ValueEnum;
        let blue = Colour::Blue.to_possible_value().expect("a value");
        assert_eq!(blue.get_name(), "blue");
        assert_eq!(
            blue.get_help().map(ToString::to_string).as_deref(),
            Some("The colour of the sky.")
        );
        assert_eq!(
            <Colour as ValueEnum>::from_str("dark-red", false),
            Ok(Colour::DarkRed)
        );
    }
}
