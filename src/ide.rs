//! Which Visual Studio the user attaches from: `--ide`, `MSVSMON_PROBE_IDE`, or, on Windows
//! when neither is given, the newest installation vswhere lists (an assumption the report states).

use serde::Deserialize;

use msvsmon_probe_core::{Ide, Release};

/// The IDE release from the command line or environment (`given`, parsed by clap), else the
/// newest Visual Studio installed here.
pub fn resolve(given: Option<&'static Release>) -> Option<Ide> {
    match given {
        Some(release) => Some(Ide {
            release,
            assumed: false,
        }),
        None => msvsmon_probe_core::vswhere_json()
            .and_then(|json| newest_installed(&json))
            .map(|release| Ide {
                release,
                assumed: true,
            }),
    }
}

/// One installation as `vswhere -format json` describes it; only the version is read.
#[derive(Deserialize)]
struct Installation {
    /// "17.14.36310.24": the major number is Visual Studio's internal version.
    #[serde(rename = "installationVersion")]
    installation_version: String,
}

/// The newest Visual Studio release among vswhere's installations; `None` for output that is
/// not vswhere's JSON or names no release the catalog knows.
pub fn newest_installed(json: &[u8]) -> Option<&'static Release> {
    let installs: Vec<Installation> = serde_json::from_slice(json).ok()?;
    installs
        .iter()
        .filter_map(|i| i.installation_version.split('.').next()?.parse::<u8>().ok())
        .filter_map(Release::by_internal_version)
        .max_by_key(|r| r.internal_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of `vswhere -format json -utf8 -prerelease` on a machine with VS 2019
    /// Professional and VS 2022 Community (fields trimmed to a representative few).
    const TWO_INSTALLS: &str = r#"[
      {
        "instanceId": "2f1b6c1e",
        "installDate": "2021-03-02T10:11:12Z",
        "installationName": "VisualStudio/16.11.34+34729.46",
        "installationPath": "C:\\Program Files (x86)\\Microsoft Visual Studio\\2019\\Professional",
        "installationVersion": "16.11.34729.46",
        "productId": "Microsoft.VisualStudio.Product.Professional",
        "isPrerelease": false,
        "displayName": "Visual Studio Professional 2019",
        "catalog": { "productDisplayVersion": "16.11.34", "productLineVersion": "2019" }
      },
      {
        "instanceId": "9a8b7c6d",
        "installDate": "2024-05-06T07:08:09Z",
        "installationName": "VisualStudio/17.14.9+36310.24",
        "installationPath": "C:\\Program Files\\Microsoft Visual Studio\\2022\\Community",
        "installationVersion": "17.14.36310.24",
        "productId": "Microsoft.VisualStudio.Product.Community",
        "isPrerelease": false,
        "displayName": "Visual Studio Community 2022",
        "catalog": { "productDisplayVersion": "17.14.9", "productLineVersion": "2022" }
      }
    ]"#;

    #[test]
    fn the_newest_installation_is_the_assumed_ide() {
        assert_eq!(
            newest_installed(TWO_INSTALLS.as_bytes()).unwrap().key,
            "2022"
        );
    }

    #[test]
    fn nothing_usable_is_no_assumption() {
        assert!(newest_installed(b"[]").is_none());
        assert!(newest_installed(b"not json").is_none());
        assert!(newest_installed(br#"[{"installationVersion": "99.0.1"}]"#).is_none());
    }

    #[test]
    fn a_given_release_is_not_an_assumption() {
        let r = Release::find_ide("2019").unwrap();
        assert_eq!(
            resolve(Some(r)),
            Some(Ide {
                release: r,
                assumed: false
            })
        );
    }
}
