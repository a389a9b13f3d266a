//! `msvsmon-probe catalog`: the release table as text or JSON.

use std::io::{self, Write};

use serde::Serialize;

use msvsmon_probe_core::{Assignment, Kind, Release, RELEASES};

#[derive(Serialize)]
struct CatalogJson {
    schema_version: u32,
    releases: Vec<ReleaseJson>,
}

#[derive(Serialize)]
struct ReleaseJson {
    #[serde(flatten)]
    release: &'static Release,
    probed: &'static str,
}

fn probed(kind: Kind) -> &'static str {
    match kind {
        Kind::RemoteTools => "by_default",
        Kind::AppService => "for_azurewebsites_targets",
        Kind::AzureCloudService => "with_azure_cloud_service_flag",
    }
}

pub fn write_json(w: &mut dyn Write) -> io::Result<()> {
    let doc = CatalogJson {
        schema_version: super::json::SCHEMA_VERSION,
        releases: RELEASES
            .iter()
            .map(|r| ReleaseJson {
                release: r,
                probed: probed(r.kind),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

pub fn write_table(w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "{:<22} {:<6} {:<24} {:<11} NOTE",
        "RELEASE", "PORT", "ROLE", "CERTAINTY"
    )?;
    for r in RELEASES {
        for (i, a) in r.ports.iter().enumerate() {
            let Assignment {
                port,
                role,
                certainty,
                note,
            } = a;
            let name = if i == 0 { r.short } else { "" };
            let certainty = match certainty {
                msvsmon_probe_core::Certainty::Documented => "documented",
                msvsmon_probe_core::Certainty::Inferred => "inferred",
            };
            writeln!(
                w,
                "{:<22} {:<6} {:<24} {:<11} {}",
                name,
                port.0,
                role.label(),
                certainty,
                note
            )?;
        }
    }
    writeln!(
        w,
        "\nApp Service ports are probed for *.azurewebsites.net targets; Azure Cloud Service ports\n\
         only with --azure-cloud-service. TCP 4026 means \"VS 2022 or 2026\": nothing on the port\n\
         tells them apart. UDP 3702 (WS-Discovery) feeds the Find dialog and is not configurable."
    )
}
