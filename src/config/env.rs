//! Reading environment variables, one typed read each, with the error that names the variable
//! and the value expected. Written by hand: the crates that map the environment onto a struct
//! (envy, config) report serde's wording, not the variable and the values it accepts.

/// A variable that is set to a value the application cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{variable}={value} is not valid: expected {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: String,
}

/// Typed reads of one variable each, with the error that names it.
pub struct Env<'a>(pub &'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_string())
    }

    pub fn invalid(&self, variable: &'static str, value: &str, expected: &str) -> ConfigError {
        ConfigError {
            variable,
            value: format!("{value:?}"),
            expected: expected.to_string(),
        }
    }

    pub fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|_| self.invalid(name, &value, expected)),
        }
    }

    pub fn ranged<T>(
        &self,
        name: &'static str,
        default: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let expected = format!("a whole number from {min} to {max}");
        let value = self.parse(name, default, &expected)?;
        if value < min || value > max {
            return Err(self.invalid(name, &value.to_string(), &expected));
        }
        Ok(value)
    }

    pub fn bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "on" | "yes") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "off" | "no") => Ok(false),
            Some(v) => Err(self.invalid(name, &v, "1 or 0 (also true/false, on/off, yes/no)")),
        }
    }
}
