//! Where values come from: `conversa.toml` and the environment, both flat (one name per key),
//! put into their sections by [`Config::KEYS`]. Errors name the key as its source spells it:
//! `CONVERSA_PORT` for the environment, `port` for the file.

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

use super::{Config, Key};

/// The keys set in the environment. Only known keys are read: other `CONVERSA_*` variables
/// (the scripts' own) are not configuration. Each value is given as the string written, never
/// guessed into a number or a boolean (`CONVERSA_METRICS_TOKEN=123456` stays text, an all-zero
/// hex key is not `0`); fields that want a number parse it (figment's lossy extraction).
pub(super) struct Environment;

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_: &Profile, path: &[&str]| {
            Key::at(path).map_or_else(|| path.join("."), |key| key.env.to_owned())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for key in Config::KEYS {
            if let Ok(value) = std::env::var(key.env) {
                insert(&mut dict, key, Value::from(value));
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// A file of flat keys (`conversa.toml`: the variables' names in lower case, without
/// `CONVERSA_`). A name no key has is an error, so a typo cannot be silently ignored.
pub(super) struct FlatFile<P>(pub(super) P);

impl<P: Provider> Provider for FlatFile<P> {
    fn metadata(&self) -> Metadata {
        self.0.metadata().interpolater(|_: &Profile, path: &[&str]| {
            Key::at(path).map_or_else(|| path.join("."), Key::file_name)
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut sectioned = Map::new();
        for (profile, flat) in self.0.data()? {
            let mut dict = Dict::new();
            for (name, value) in flat {
                let Some(key) = Key::named(&name) else {
                    return Err(Error::from(format!("unknown key `{name}`")));
                };
                insert(&mut dict, key, value);
            }
            sectioned.insert(profile, dict);
        }
        Ok(sectioned)
    }
}

/// Puts `value` at `key`'s place: `{section: {field: value}}`.
fn insert(dict: &mut Dict, key: &Key, value: Value) {
    let section = dict.entry(key.section.to_owned()).or_insert_with(|| Value::from(Dict::new()));
    if let Value::Dict(_, fields) = section {
        fields.insert(key.field.to_owned(), value);
    }
}
