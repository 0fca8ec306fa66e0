//! The macro that declares the configuration: each key written once, as a field of its section
//! with its environment variable and its default. From that one declaration come the section
//! structs (typed by serde), their defaults, and [`Config::KEYS`](super::Config::KEYS), the table
//! that maps the environment and `conversa.toml` onto the sections; there is no second list to
//! keep in sync.

/// Declares the sections of [`Config`](super::Config) and the table of their keys.
///
/// ```text
/// /// Doc of the section.
/// section_field: SectionStruct {
///     /// Doc of the key.
///     #[serde(...)]            // optional: how the value is parsed
///     "CONVERSA_SOME_KEY" => field: Type = default,
/// }
/// ```
macro_rules! sections {
    ($(
        $(#[doc = $section_doc:literal])*
        $section:ident: $Section:ident {
            $(
                $(#[$field_meta:meta])*
                $env:literal => $field:ident: $ty:ty = $default:expr,
            )*
        }
    )*) => {
        $(
            $(#[doc = $section_doc])*
            #[derive(Clone, Debug, PartialEq, serde::Deserialize)]
            // A key left out keeps its default; one the table does not know never gets here.
            #[serde(default, deny_unknown_fields)]
            pub struct $Section {
                $(
                    $(#[$field_meta])*
                    pub $field: $ty,
                )*
            }

            impl Default for $Section {
                fn default() -> Self {
                    Self { $( $field: $default, )* }
                }
            }
        )*

        /// The service's configuration, in sections. Its `Debug` prints no secret: they are
        /// [`SecretString`](domain::SecretString)s.
        #[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Config {
            $(
                $(#[doc = $section_doc])*
                pub $section: $Section,
            )*
        }

        impl Config {
            /// Every key: its environment variable and the section field it sets.
            pub const KEYS: &'static [Key] = &[
                $($( Key { env: $env, section: stringify!($section), field: stringify!($field) }, )*)*
            ];
        }
    };
}

pub(super) use sections;
