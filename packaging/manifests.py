#!/usr/bin/env python3
"""Scoop and winget manifests for a release, generated from the version and the zip's SHA-256,
and the check CI runs on them.

    manifests.py write DIST VERSION    writes DIST/scoop/ and DIST/winget/ for DIST's Windows zip
    manifests.py check DIST            checks them: structure, values, and hash == the zip's

The check is structural, field by field, following Scoop's schema.json and winget's 1.6.0
manifest schemas: CI fetches nothing beyond package registries, so the schemas themselves are
not downloaded (nor copied into this repository); the rules used are the ones that matter for
these manifests (required fields, types, patterns, enums, lengths). PyYAML (Debian's
python3-yaml) parses the winget YAML, so the check reads what winget would.
"""

import hashlib
import json
import pathlib
import re
import sys

import yaml

NAME = "msvsmon-probe"
PUBLISHER = "The msvsmon-probe developers"
IDENTIFIER = "msvsmon-probe.msvsmon-probe"
REPO = "https://github.com/msvsmon-probe/msvsmon-probe"
LICENSE = "MIT OR Apache-2.0"
DESCRIPTION = "Can this machine reach a Visual Studio Remote Debugger (msvsmon)? If not, why not."
WINDOWS_TARGET = "x86_64-pc-windows-gnu"
# Rust's standard library imports ProcessPrng (bcryptprimitives.dll): Windows 10 RTM and later,
# which includes Server 2016.
MINIMUM_OS_VERSION = "10.0.10240.0"
MANIFEST_VERSION = "1.6.0"


def zip_name(version):
    return f"{NAME}-{version}-{WINDOWS_TARGET}.zip"


def url(version):
    return f"{REPO}/releases/download/v{version}/{zip_name(version)}"


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def winget_paths(dist, version):
    d = dist / "winget" / "manifests" / "m" / "msvsmon-probe" / "msvsmon-probe" / version
    return {
        "version": d / f"{IDENTIFIER}.yaml",
        "installer": d / f"{IDENTIFIER}.installer.yaml",
        "defaultLocale": d / f"{IDENTIFIER}.locale.en-US.yaml",
    }


def write(dist, version):
    archive = dist / zip_name(version)
    digest = sha256(archive)
    folder = archive.name[: -len(".zip")]
    scoop = {
        "version": version,
        "description": DESCRIPTION,
        "homepage": REPO,
        "license": LICENSE,
        "notes": "Needs Windows 10 / Server 2016 or later.",
        "architecture": {"64bit": {"url": url(version), "hash": digest}},
        "extract_dir": folder,
        "bin": f"{NAME}.exe",
        "checkver": {"github": REPO},
        "autoupdate": {
            "architecture": {
                "64bit": {
                    "url": f"{REPO}/releases/download/v$version/{NAME}-$version-{WINDOWS_TARGET}.zip",
                    "extract_dir": f"{NAME}-$version-{WINDOWS_TARGET}",
                }
            }
        },
    }
    (dist / "scoop").mkdir(parents=True, exist_ok=True)
    (dist / "scoop" / f"{NAME}.json").write_text(json.dumps(scoop, indent=4) + "\n")

    common = {"PackageIdentifier": IDENTIFIER, "PackageVersion": version}
    docs = {
        "version": {**common, "DefaultLocale": "en-US"},
        "installer": {
            **common,
            "MinimumOSVersion": MINIMUM_OS_VERSION,
            "InstallerType": "zip",
            "NestedInstallerType": "portable",
            "NestedInstallerFiles": [
                {"RelativeFilePath": f"{folder}\\{NAME}.exe", "PortableCommandAlias": NAME}
            ],
            "Installers": [
                {
                    "Architecture": "x64",
                    "InstallerUrl": url(version),
                    "InstallerSha256": digest.upper(),
                }
            ],
        },
        "defaultLocale": {
            **common,
            "PackageLocale": "en-US",
            "Publisher": PUBLISHER,
            "PackageName": NAME,
            "PackageUrl": REPO,
            "License": LICENSE,
            "ShortDescription": DESCRIPTION,
            "Moniker": NAME,
            "Tags": ["visual-studio", "remote-debugger", "msvsmon", "network", "diagnostics"],
        },
    }
    for kind, path in winget_paths(dist, version).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {**docs[kind], "ManifestType": kind, "ManifestVersion": MANIFEST_VERSION}
        header = (
            "# yaml-language-server: $schema=https://aka.ms/winget-manifest."
            f"{kind}.{MANIFEST_VERSION}.schema.json\n"
        )
        path.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=False))


class Problems(list):
    def need(self, ok, what):
        if not ok:
            self.append(what)


# Patterns and limits from winget's 1.6.0 schemas.
IDENTIFIER_RE = re.compile(r'^[^.\s\\/:*?"<>|\x01-\x1f]{1,32}(\.[^.\s\\/:*?"<>|\x01-\x1f]{1,32}){1,7}$')
VERSION_RE = re.compile(r'^[^\\/:*?"<>|\x01-\x1f]+$')
LOCALE_RE = re.compile(r"^([a-zA-Z]{2,3}|[iI]-[a-zA-Z]+|[xX]-[a-zA-Z]{1,8})(-[a-zA-Z]{1,8})*$")
URL_RE = re.compile(r"^([Hh][Tt][Tt][Pp][Ss]?)://.+$")
SHA256_RE = re.compile(r"^[A-Fa-f0-9]{64}$")
OS_VERSION_RE = re.compile(r"^(0|[1-9][0-9]{0,4})(\.(0|[1-9][0-9]{0,4})){0,3}$")


def check_string(p, doc, key, pattern=None, max_len=None, required=True):
    v = doc.get(key)
    if v is None:
        p.need(not required, f"{key} is missing")
        return
    p.need(isinstance(v, str) and v, f"{key} is not a non-empty string: {v!r}")
    if isinstance(v, str):
        if pattern:
            p.need(pattern.match(v), f"{key} {v!r} does not match {pattern.pattern}")
        if max_len:
            p.need(len(v) <= max_len, f"{key} is longer than {max_len}")


def check_winget(p, path, kind, version, digest, zip_entries):
    doc = yaml.safe_load(path.read_text())
    p.need(isinstance(doc, dict), f"{path.name}: not a mapping")
    if not isinstance(doc, dict):
        return
    where = path.name
    before = len(p)
    check_string(p, doc, "PackageIdentifier", IDENTIFIER_RE, 128)
    check_string(p, doc, "PackageVersion", VERSION_RE, 128)
    p.need(doc.get("PackageVersion") == version, f"PackageVersion is not {version}")
    p.need(doc.get("ManifestType") == kind, f"ManifestType is not {kind}")
    p.need(
        re.match(r"^(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])(\.(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])){2}$", str(doc.get("ManifestVersion", ""))),
        "ManifestVersion is not a version",
    )
    if kind == "version":
        check_string(p, doc, "DefaultLocale", LOCALE_RE, 20)
        allowed = {"PackageIdentifier", "PackageVersion", "DefaultLocale", "ManifestType", "ManifestVersion"}
    elif kind == "defaultLocale":
        check_string(p, doc, "PackageLocale", LOCALE_RE, 20)
        check_string(p, doc, "Publisher", max_len=256)
        check_string(p, doc, "PackageName", max_len=256)
        check_string(p, doc, "License", max_len=512)
        check_string(p, doc, "ShortDescription", max_len=256)
        check_string(p, doc, "PackageUrl", URL_RE, 2048, required=False)
        check_string(p, doc, "Moniker", max_len=40, required=False)
        tags = doc.get("Tags", [])
        p.need(
            isinstance(tags, list) and len(tags) <= 16 and all(isinstance(t, str) and 1 <= len(t) <= 40 and " " not in t for t in tags),
            "Tags: at most 16 strings of 1-40 characters without spaces",
        )
        allowed = {
            "PackageIdentifier", "PackageVersion", "PackageLocale", "Publisher", "PackageName",
            "PackageUrl", "License", "ShortDescription", "Moniker", "Tags", "ManifestType",
            "ManifestVersion",
        }
    else:
        check_string(p, doc, "MinimumOSVersion", OS_VERSION_RE, required=False)
        p.need(doc.get("InstallerType") in {"msix", "msi", "appx", "exe", "zip", "inno", "nullsoft", "wix", "burn", "pwa", "portable"}, "InstallerType is not a known type")
        p.need(doc.get("NestedInstallerType") in {"msix", "msi", "appx", "exe", "inno", "nullsoft", "wix", "burn", "portable"}, "NestedInstallerType is not a known type")
        nested = doc.get("NestedInstallerFiles")
        p.need(isinstance(nested, list) and 1 <= len(nested) <= 1024, "NestedInstallerFiles: a list")
        for n in nested or []:
            rel = n.get("RelativeFilePath", "")
            p.need(isinstance(rel, str) and 1 <= len(rel) <= 512, "RelativeFilePath: 1-512 characters")
            p.need(rel.replace("\\", "/") in zip_entries, f"RelativeFilePath {rel!r} is not in the zip")
            alias = n.get("PortableCommandAlias")
            p.need(alias is None or (isinstance(alias, str) and 1 <= len(alias) <= 40), "PortableCommandAlias: 1-40 characters")
        installers = doc.get("Installers")
        p.need(isinstance(installers, list) and 1 <= len(installers) <= 1024, "Installers: a non-empty list")
        for i in installers or []:
            p.need(i.get("Architecture") in {"x86", "x64", "arm", "arm64", "neutral"}, "Architecture is not a known one")
            check_string(p, i, "InstallerUrl", URL_RE, 2048)
            check_string(p, i, "InstallerSha256", SHA256_RE)
            p.need(str(i.get("InstallerSha256", "")).lower() == digest, "InstallerSha256 is not the zip's SHA-256")
            p.need(str(i.get("InstallerUrl", "")).endswith("/" + zip_name(version)), "InstallerUrl does not name the zip")
        allowed = {
            "PackageIdentifier", "PackageVersion", "MinimumOSVersion", "InstallerType",
            "NestedInstallerType", "NestedInstallerFiles", "Installers", "ManifestType",
            "ManifestVersion",
        }
    extra = set(doc) - allowed
    p.need(not extra, f"fields this check does not know (add their rules): {sorted(extra)}")
    for i in range(before, len(p)):
        p[i] = f"{where}: {p[i]}"


def check(dist):
    import zipfile

    p = Problems()
    archives = sorted(dist.glob(f"{NAME}-*-{WINDOWS_TARGET}.zip"))
    if len(archives) != 1:
        sys.exit(f"expected one Windows zip in {dist}, found {[a.name for a in archives]}")
    archive = archives[0]
    version = archive.name[len(NAME) + 1 : -len(f"-{WINDOWS_TARGET}.zip")]
    digest = sha256(archive)
    with zipfile.ZipFile(archive) as z:
        entries = set(z.namelist())
    folder = archive.name[: -len(".zip")]

    sums = (dist / "SHA256SUMS").read_text().split("\n")
    p.need(f"{digest}  {archive.name}" in sums, "SHA256SUMS does not list the zip's hash")

    scoop = json.loads((dist / "scoop" / f"{NAME}.json").read_text())
    p.need(isinstance(scoop, dict), "scoop: not an object")
    p.need(scoop.get("version") == version, f"scoop: version is not {version}")
    for key in ("description", "homepage", "license", "bin"):
        p.need(isinstance(scoop.get(key), str) and scoop.get(key), f"scoop: {key} is not a string")
    p.need(URL_RE.match(scoop.get("homepage", "")), "scoop: homepage is not a URL")
    arch = scoop.get("architecture", {}).get("64bit", {})
    p.need(arch.get("url", "").endswith("/" + archive.name), "scoop: url does not name the zip")
    p.need(re.match(r"^([a-fA-F0-9]{64}|sha256:[a-fA-F0-9]{64})$", arch.get("hash", "")), "scoop: hash is not a SHA-256")
    p.need(arch.get("hash", "").lower() == digest, "scoop: hash is not the zip's SHA-256")
    p.need(f"{scoop.get('extract_dir')}/{scoop.get('bin')}" in entries, "scoop: extract_dir/bin is not in the zip")
    p.need(scoop.get("extract_dir") == folder, "scoop: extract_dir is not the zip's folder")
    extra = set(scoop) - {"version", "description", "homepage", "license", "notes", "architecture", "extract_dir", "bin", "checkver", "autoupdate"}
    p.need(not extra, f"scoop: fields this check does not know: {sorted(extra)}")
    auto = scoop.get("autoupdate", {}).get("architecture", {}).get("64bit", {})
    p.need("$version" in auto.get("url", ""), "scoop: autoupdate url has no $version")

    for kind, path in winget_paths(dist, version).items():
        if not path.is_file():
            p.append(f"winget: {path} is missing")
            continue
        check_winget(p, path, kind, version, digest, entries)

    if p:
        sys.exit("manifests rejected:\n  " + "\n  ".join(p))
    print(f"manifests: Scoop and winget ({MANIFEST_VERSION}) valid for {archive.name}, sha256 {digest}")


def main(argv):
    if len(argv) == 4 and argv[1] == "write":
        write(pathlib.Path(argv[2]), argv[3])
    elif len(argv) == 3 and argv[1] == "check":
        check(pathlib.Path(argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
