//! Options for generation, and the `micro-gen.toml` file they can come from.
//!
//! Precedence: command-line flags, then `micro-gen.toml` in the working directory, then defaults.
//!
//! ```toml
//! # micro-gen.toml
//! version = "1.2.0"          # the version stamped into every SDK
//!
//! [ts]
//! package-name = "@acme/micro"
//!
//! [python]
//! package-name = "acme-micro" # the distribution name; the import name stays `micro`
//!
//! [rust]
//! package-name = "acme-micro" # the crate name; the library is `acme_micro`
//!
//! # The SDKs' identity, stamped into every manifest (package.json, pyproject.toml, Cargo.toml,
//! # pom.xml, the gemspec) and each SDK's LICENSE and README:
//! license = "Apache-2.0"     # an SPDX id
//! homepage = "https://acme.dev/micro"
//! repository = "https://github.com/acme/micro-sdks"
//! authors = ["Acme SDK team <sdk@acme.dev>"]
//! description = "Acme's Micro clients"
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};

/// The file name micro-gen reads options from, in the working directory.
pub const CONFIG_FILE: &str = "micro-gen.toml";

/// The contents of `micro-gen.toml`. Unknown keys are rejected.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// The SDK version (`X.Y.Z`), for every language.
    pub version: Option<String>,
    /// The SPDX license id of every SDK (default `Apache-2.0`).
    pub license: Option<String>,
    /// The project's home page (default: the repository).
    pub homepage: Option<String>,
    /// The source repository URL (default `https://github.com/micro-gen/micro-gen`).
    pub repository: Option<String>,
    /// The authors, `Name <email>` or `Name` (default `["micro-gen"]`).
    pub authors: Option<Vec<String>>,
    /// A one-line description; `None` keeps each language's own.
    pub description: Option<String>,
    /// TypeScript options.
    #[serde(default)]
    pub ts: LanguageConfig,
    /// Python options.
    #[serde(default)]
    pub python: LanguageConfig,
    /// Rust options.
    #[serde(default)]
    pub rust: LanguageConfig,
    /// Go options (`package-name` is the module path).
    #[serde(default)]
    pub go: LanguageConfig,
    /// Java options (`package-name` is `groupId:artifactId`).
    #[serde(default)]
    pub java: LanguageConfig,
    /// Ruby options (`package-name` is the gem name).
    #[serde(default)]
    pub ruby: LanguageConfig,
}

/// Per-language options in `micro-gen.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LanguageConfig {
    /// The package name on the language's registry (npm, PyPI, crates.io).
    pub package_name: Option<String>,
    /// A version for this language only, overriding the top-level one.
    pub version: Option<String>,
}

impl ConfigFile {
    /// Reads `path`; a missing file gives the defaults.
    ///
    /// # Errors
    ///
    /// Fails when the file exists but cannot be read, is not valid TOML, or has unknown keys.
    pub fn read(path: &Path) -> Result<ConfigFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| Error::new(ErrorKind::Config { path: path.to_owned(), source: Box::new(e) })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(Error::io("failed to read", path, e)),
        }
    }
}

/// The default SDK version when neither a flag nor `micro-gen.toml` gives one.
pub const DEFAULT_VERSION: &str = "0.1.0";

/// Options for generating one language's SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkOptions {
    /// The package name on the registry; `None` uses the language's default
    /// (`@micro/sdk` on npm, `micro-sdk` on PyPI, `micro-client` on crates.io).
    pub package_name: Option<String>,
    /// The SDK version, `X.Y.Z` with an optional pre-release (`1.0.0-rc.1`).
    pub version: String,
    /// The SPDX license id (`Apache-2.0` gets the full license text, others a short notice).
    pub license: String,
    /// The home page URL.
    pub homepage: String,
    /// The source repository URL.
    pub repository: String,
    /// The authors (`Name` or `Name <email>`); never empty after [`SdkOptions::validate`].
    pub authors: Vec<String>,
    /// A one-line description; `None` keeps each language's own.
    pub description: Option<String>,
}

/// The default license of the SDKs.
pub const DEFAULT_LICENSE: &str = "Apache-2.0";
/// The default repository (and home page).
pub const DEFAULT_REPOSITORY: &str = "https://github.com/micro-gen/micro-gen";
/// The default author.
pub const DEFAULT_AUTHOR: &str = "micro-gen";

impl Default for SdkOptions {
    fn default() -> Self {
        SdkOptions {
            package_name: None,
            version: DEFAULT_VERSION.to_owned(),
            license: DEFAULT_LICENSE.to_owned(),
            homepage: DEFAULT_REPOSITORY.to_owned(),
            repository: DEFAULT_REPOSITORY.to_owned(),
            authors: vec![DEFAULT_AUTHOR.to_owned()],
            description: None,
        }
    }
}

impl SdkOptions {
    /// Fills the identity fields (license, homepage, repository, authors, description) from
    /// `config` where it sets them, keeping the defaults otherwise.
    pub fn with_identity(mut self, config: &ConfigFile) -> SdkOptions {
        if let Some(l) = &config.license {
            self.license.clone_from(l);
        }
        if let Some(r) = &config.repository {
            self.repository.clone_from(r);
            self.homepage.clone_from(r);
        }
        if let Some(h) = &config.homepage {
            self.homepage.clone_from(h);
        }
        if let Some(a) = &config.authors {
            self.authors.clone_from(a);
        }
        if config.description.is_some() {
            self.description.clone_from(&config.description);
        }
        self
    }
}

impl SdkOptions {
    /// Checks the version is semantic-version shaped, and the package name has no characters
    /// that could break out of a manifest string.
    ///
    /// # Errors
    ///
    /// An invalid-option error naming the bad value.
    pub fn validate(&self) -> Result<()> {
        let (core, pre) = match self.version.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (self.version.as_str(), None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        let numeric = |s: &&str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        let pre_ok = pre.is_none_or(|p| {
            !p.is_empty() && p.split('.').all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))
        });
        if parts.len() != 3 || !parts.iter().all(numeric) || !pre_ok {
            return Err(Error::invalid(format!("version '{}' is not X.Y.Z", self.version)));
        }
        if let Some(name) = &self.package_name {
            let ok = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '/' | ':'));
            if !ok {
                return Err(Error::invalid(format!("package name '{name}' has characters a registry rejects")));
            }
        }
        // Identity values land inside JSON, TOML, XML and Ruby string literals: keep them to
        // characters that need no escaping in any of them.
        let plain = |s: &str| {
            !s.chars().any(|c| {
                c.is_control() || matches!(c, '"' | '\\' | '\'' | '<' | '>' | '&' | '`' | '$' | '#' | '{' | '}')
            })
        };
        let spdx = !self.license.is_empty()
            && self
                .license
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+' | ' ' | '(' | ')'));
        if !spdx {
            return Err(Error::invalid(format!("license '{}' is not an SPDX id (as Apache-2.0 or MIT)", self.license)));
        }
        for (what, url) in [("homepage", &self.homepage), ("repository", &self.repository)] {
            if !url.starts_with("https://") || url.contains(char::is_whitespace) || !plain(url) {
                return Err(Error::invalid(format!("{what} '{url}' is not an https:// URL")));
            }
        }
        if self.authors.is_empty() {
            return Err(Error::invalid("authors must name at least one author"));
        }
        for author in &self.authors {
            // `Name <email>` is the one form with angle brackets.
            let name = author
                .split_once(" <")
                .map_or(author.as_str(), |(n, e)| if e.ends_with('>') && plain(&e[..e.len() - 1]) { n } else { "<" });
            if name.trim().is_empty() || !plain(name) {
                return Err(Error::invalid(format!(
                    "author '{author}' must be `Name` or `Name <email>`, without quotes"
                )));
            }
        }
        if let Some(d) = &self.description {
            if d.trim().is_empty() || !plain(d) {
                return Err(Error::invalid(format!(
                    "description '{d}' is empty or has quotes, brackets or control characters"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let c: ConfigFile = toml::from_str(
            "version = \"1.2.3\"\n[ts]\npackage-name = \"@a/b\"\n[rust]\npackage-name = \"acme-micro\"\n",
        )
        .unwrap();
        assert_eq!(c.version.as_deref(), Some("1.2.3"));
        assert_eq!(c.ts.package_name.as_deref(), Some("@a/b"));
        assert_eq!(c.rust.package_name.as_deref(), Some("acme-micro"));
        assert!(toml::from_str::<ConfigFile>("verison = \"1\"").is_err());
    }

    #[test]
    fn validates_versions_and_names() {
        let ok = |v: &str| SdkOptions { version: v.into(), ..SdkOptions::default() }.validate().is_ok();
        assert!(ok("0.1.0") && ok("10.20.30") && ok("1.0.0-rc.1"));
        assert!(!ok("1.0") && !ok("v1.0.0") && !ok("1.0.0-") && !ok("1.0.x"));
        let name = |n: &str| SdkOptions { package_name: Some(n.into()), ..SdkOptions::default() }.validate().is_ok();
        assert!(name("@micro/sdk") && name("micro-sdk"));
        assert!(!name("a\"b") && !name("") && !name("a b"));
    }

    #[test]
    fn identity_from_config_and_validation() {
        let c: ConfigFile = toml::from_str(
            "license = \"MIT\"\nrepository = \"https://github.com/acme/x\"\nauthors = [\"Acme <sdk@acme.dev>\"]\ndescription = \"Acme clients\"\n",
        )
        .unwrap();
        let o = SdkOptions::default().with_identity(&c);
        assert_eq!((o.license.as_str(), o.homepage.as_str()), ("MIT", "https://github.com/acme/x"));
        assert_eq!(o.authors, ["Acme <sdk@acme.dev>"]);
        assert!(o.validate().is_ok());
        let bad = |f: fn(&mut SdkOptions)| {
            let mut o = SdkOptions::default();
            f(&mut o);
            o.validate().is_err()
        };
        assert!(bad(|o| o.license = "MIT\"".into()));
        assert!(bad(|o| o.homepage = "http://x".into()));
        assert!(bad(|o| o.authors = vec![]));
        assert!(bad(|o| o.authors = vec!["a\" b".into()]));
        assert!(bad(|o| o.description = Some("<b>".into())));
        assert!(toml::from_str::<ConfigFile>("licence = \"MIT\"").is_err());
    }
}
