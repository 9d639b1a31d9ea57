//! Fashion-MNIST from Debian's `dataset-fashion-mnist` package, for machines
//! without the internet: the four official IDX files under
//! `/usr/share/datasets/fashion-mnist/`. [`fetch`] reads them where the
//! package is installed; otherwise installs it with `apt-get` when it may
//! (root, or `sudo -n` works); otherwise fetches the `.deb` with
//! `apt-get download` and unpacks it with `dpkg-deb -x`, no root needed.
//! The files are copied into the data directory only once the SHA-256 of
//! their *uncompressed* content matches the official files' (Debian's `.gz`
//! headers differ from upstream's — they drop the stored file name — the
//! content does not), and a `SOURCE` file beside them says where they came
//! from, for the experiment to record.
//!
//! `cargo test -p augkit-data debian` checks the installed files (when the
//! package is there) and the unpack path on a `.deb` built locally.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::idx::{IDX_FILES, find_idx_file, read_maybe_gz};

/// Debian's package name.
pub const PACKAGE: &str = "dataset-fashion-mnist";
/// Where the package puts the files.
pub const INSTALLED_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// The file [`fetch`] writes beside the copied files: one line naming their origin.
pub const SOURCE_FILE: &str = "SOURCE";

/// SHA-256 of the official Fashion-MNIST files, uncompressed (computed from
/// Debian's `0.0~git20200523.55506a9-1`, whose content equals upstream's).
pub const FASHION_MNIST_SHA256: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    (
        "train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    (
        "t10k-images-idx3-ubyte",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    (
        "t10k-labels-idx1-ubyte",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
];

/// What a package holds and the content it must have.
#[derive(Clone, Debug)]
pub struct PackageSpec {
    pub package: String,
    /// The files' directory inside the package (and once installed).
    pub dir: PathBuf,
    /// (file stem, SHA-256 of the uncompressed content), in IDX_FILES order.
    pub files: Vec<(String, String)>,
}

impl PackageSpec {
    /// `dataset-fashion-mnist` with the official checksums.
    pub fn fashion_mnist() -> Self {
        Self {
            package: PACKAGE.into(),
            dir: INSTALLED_DIR.into(),
            files: FASHION_MNIST_SHA256
                .iter()
                .map(|(f, s)| (f.to_string(), s.to_string()))
                .collect(),
        }
    }
}

/// Where verified files came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebianSource {
    /// e.g. `debian:dataset-fashion-mnist 0.0~git20200523.55506a9-1 (/usr/share/datasets/fashion-mnist)`.
    pub source: String,
    /// file stem → SHA-256 of the uncompressed content.
    pub sha256: BTreeMap<String, String>,
    /// The files as copied into the destination.
    pub files: Vec<PathBuf>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of each IDX file's uncompressed content in `dir` (plain or `.gz`),
/// compared with `spec`. Returns stem → digest, or a checksum error naming
/// the first file that differs.
pub fn verify_dir(dir: &Path, spec: &PackageSpec) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (stem, want) in &spec.files {
        let path = find_idx_file(dir, stem).ok_or_else(|| DataError::MissingFiles {
            name: spec.package.clone(),
            dir: dir.to_path_buf(),
            expected: spec
                .files
                .iter()
                .map(|(f, _)| format!("{f}[.gz]"))
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        let got = hex(&Sha256::digest(read_maybe_gz(&path)?));
        if &got != want {
            return Err(DataError::Checksum {
                url: format!("{} (uncompressed)", path.display()),
                algorithm: "SHA-256",
                expected: want.clone(),
                actual: got,
            });
        }
        out.insert(stem.clone(), got);
    }
    Ok(out)
}

/// SHA-256 of each of the four IDX files' uncompressed content in `dir`
/// (no comparison), for recording where data came from.
pub fn idx_digests(dir: &Path) -> Option<BTreeMap<String, String>> {
    IDX_FILES
        .iter()
        .map(|stem| {
            let path = find_idx_file(dir, stem)?;
            let bytes = read_maybe_gz(&path).ok()?;
            Some((stem.to_string(), hex(&Sha256::digest(bytes))))
        })
        .collect()
}

/// The installed version of `package`, from dpkg.
pub fn installed_version(package: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}\t${Version}", package])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (status, version) = text.split_once('\t')?;
    (out.status.success() && status.ends_with(" installed") && !version.is_empty())
        .then(|| version.to_string())
}

fn source_line(package: &str, version: &str, dir: &Path) -> String {
    format!("debian:{package} {version} ({})", dir.display())
}

/// Copies the verified files of `from` into `dest` (each through a temporary
/// name, then renamed) and writes `dest/SOURCE`.
fn install_into(
    from: &Path,
    dest: &Path,
    spec: &PackageSpec,
    source: String,
) -> Result<DebianSource> {
    let sha256 = verify_dir(from, spec)?;
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    let mut files = Vec::new();
    for (stem, _) in &spec.files {
        let src = find_idx_file(from, stem).expect("verified above");
        let name = src.file_name().expect("a file").to_owned();
        let target = dest.join(&name);
        let partial = dest.join(format!(".{}.partial", name.to_string_lossy()));
        std::fs::copy(&src, &partial).map_err(|e| DataError::io(&partial, e))?;
        std::fs::rename(&partial, &target).map_err(|e| DataError::io(&target, e))?;
        files.push(target);
    }
    // The copies are checked again: a full disk must not leave a short file.
    verify_dir(dest, spec)?;
    let marker = dest.join(SOURCE_FILE);
    std::fs::write(&marker, format!("{source}\n")).map_err(|e| DataError::io(&marker, e))?;
    Ok(DebianSource {
        source,
        sha256,
        files,
    })
}

/// Unpacks `deb` (`dpkg-deb -x`, no root) into a scratch directory under
/// `dest`, verifies the package's files and moves them into `dest`.
pub fn unpack_deb(deb: &Path, spec: &PackageSpec, dest: &Path) -> Result<DebianSource> {
    let scratch = dest.join(".debian-unpack");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| DataError::io(&scratch, e))?;
    let result = (|| {
        run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&scratch))?;
        let version = Command::new("dpkg-deb")
            .args(["-f"])
            .arg(deb)
            .arg("Version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let inside = scratch.join(spec.dir.strip_prefix("/").unwrap_or(&spec.dir));
        let name = deb
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let source = format!(
            "{} (unpacked from {name} into {})",
            source_line(&spec.package, &version, &spec.dir),
            dest.display()
        );
        install_into(&inside, dest, spec, source)
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .map_err(|e| DataError::InvalidArgument(format!("cannot run {shown}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(DataError::InvalidArgument(format!(
        "{shown} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// How `apt-get install` may run: `apt-get` as root, `sudo -n apt-get`
/// with password-less sudo, else not at all.
fn apt_get_as_admin() -> Option<Command> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        return Some(Command::new("apt-get"));
    }
    let sudo = Command::new("sudo").args(["-n", "true"]).output().ok()?;
    sudo.status.success().then(|| {
        let mut c = Command::new("sudo");
        c.args(["-n", "apt-get"]);
        c
    })
}

fn apt_install(args: &[&str]) -> Result<()> {
    let mut c = apt_get_as_admin()
        .ok_or_else(|| DataError::InvalidArgument("not root and no password-less sudo".into()))?;
    run(c.args(args).env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Puts Debian's Fashion-MNIST into `dest`: from the installed package, else
/// after `apt-get install` where allowed, else from `apt-get download` +
/// `dpkg-deb -x`. Each failure is kept in the final error.
pub fn fetch(dest: &Path) -> Result<DebianSource> {
    let spec = PackageSpec::fashion_mnist();
    let mut tried = Vec::new();
    let from_installed = |tried: &mut Vec<String>| match installed_version(PACKAGE) {
        Some(version) => {
            let source = source_line(PACKAGE, &version, &spec.dir);
            install_into(&spec.dir, dest, &spec, source)
                .map_err(|e| tried.push(format!("installed package: {e}")))
                .ok()
        }
        None => {
            tried.push(format!("{PACKAGE} is not installed"));
            None
        }
    };
    if let Some(done) = from_installed(&mut tried) {
        return Ok(done);
    }
    let install = || {
        apt_install(&["install", "-y", "-qq", PACKAGE]).or_else(|_| {
            apt_install(&["update", "-qq"])
                .and_then(|()| apt_install(&["install", "-y", "-qq", PACKAGE]))
        })
    };
    match install() {
        Ok(()) => {
            if let Some(done) = from_installed(&mut tried) {
                return Ok(done);
            }
        }
        Err(e) => tried.push(format!("apt-get install: {e}")),
    }
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    let scratch = dest.join(".debian-download");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| DataError::io(&scratch, e))?;
    let downloaded = run(Command::new("apt-get")
        .args(["download", "-qq", PACKAGE])
        .current_dir(&scratch))
    .and_then(|()| {
        let deb = std::fs::read_dir(&scratch)
            .map_err(|e| DataError::io(&scratch, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| DataError::InvalidArgument("apt-get download left no .deb".into()))?;
        unpack_deb(&deb, &spec, dest)
    });
    let _ = std::fs::remove_dir_all(&scratch);
    downloaded.map_err(|e| {
        tried.push(format!("apt-get download: {e}"));
        DataError::InvalidArgument(format!(
            "Debian's {PACKAGE} could not be used: {}",
            tried.join("; ")
        ))
    })
}

/// Where the IDX files of `dir` came from: its `SOURCE` line when
/// [`fetch`] wrote one, the package's description for Debian's own
/// directory, else `local files in DIR`.
pub fn describe_source(dir: &Path) -> String {
    if let Ok(line) = std::fs::read_to_string(dir.join(SOURCE_FILE)) {
        return line.trim().to_string();
    }
    if dir == Path::new(INSTALLED_DIR) {
        let version = installed_version(PACKAGE).unwrap_or_else(|| "(version unknown)".into());
        return source_line(PACKAGE, &version, dir);
    }
    format!("local files in {}", dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{TempDir, gz, idx_images, idx_labels};

    /// The installed package's files hold the official content.
    #[test]
    fn installed_package_matches_the_official_checksums() {
        let dir = Path::new(INSTALLED_DIR);
        if installed_version(PACKAGE).is_none() || !dir.is_dir() {
            assert!(
                std::env::var("AUGKIT_REQUIRE_DEBIAN_DATA").as_deref() != Ok("1"),
                "AUGKIT_REQUIRE_DEBIAN_DATA=1 but {PACKAGE} is not installed"
            );
            eprintln!("skipped: {PACKAGE} is not installed (scripts/setup-system installs it)");
            return;
        }
        let digests = verify_dir(dir, &PackageSpec::fashion_mnist()).unwrap();
        assert_eq!(digests.len(), 4);
        let (train, test) =
            crate::idx::read_idx_dir(dir, "fashion-mnist", &crate::idx::FASHION_MNIST_CLASSES)
                .unwrap();
        assert_eq!((train.len(), test.len()), (60_000, 10_000));
        assert!(describe_source(dir).starts_with("debian:dataset-fashion-mnist "));
        let tmp = TempDir::new("debian-installed");
        let done = fetch(tmp.path()).unwrap();
        assert!(done.source.contains(INSTALLED_DIR), "{}", done.source);
        assert_eq!(done.sha256, digests);
        assert_eq!(describe_source(tmp.path()), done.source);
        assert_eq!(
            std::fs::read(&done.files[3]).unwrap(),
            std::fs::read(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap()
        );
    }

    fn have_dpkg_deb() -> bool {
        Command::new("dpkg-deb")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// A `.deb` built here (dpkg-deb -b) with small IDX files unpacks
    /// without root, verifies, lands in the destination with its SOURCE
    /// line, and reads back; a corrupted package is rejected and leaves
    /// nothing behind.
    #[test]
    fn unpacks_a_locally_built_deb() {
        if !have_dpkg_deb() {
            assert!(
                std::env::var("AUGKIT_REQUIRE_DEBIAN_DATA").as_deref() != Ok("1"),
                "AUGKIT_REQUIRE_DEBIAN_DATA=1 but dpkg-deb is missing"
            );
            eprintln!("skipped: no dpkg-deb");
            return;
        }
        let tmp = TempDir::new("debian-deb");
        let contents: Vec<(&str, Vec<u8>)> = vec![
            ("train-images-idx3-ubyte", idx_images(3, 2, 2, &[7; 12])),
            ("train-labels-idx1-ubyte", idx_labels(&[0, 1, 2])),
            ("t10k-images-idx3-ubyte", idx_images(1, 2, 2, &[9; 4])),
            ("t10k-labels-idx1-ubyte", idx_labels(&[3])),
        ];
        let build = |name: &str, corrupt: bool| {
            let root = tmp.path().join(name);
            let data = root.join("usr/share/datasets/test-idx");
            std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(
                root.join("DEBIAN/control"),
                "Package: test-idx\nVersion: 1.2-3\nArchitecture: all\nMaintainer: nobody <n@example.org>\nDescription: test\n",
            )
            .unwrap();
            for (i, (stem, bytes)) in contents.iter().enumerate() {
                let mut bytes = bytes.clone();
                if corrupt && i == 2 {
                    bytes[17] ^= 1;
                }
                std::fs::write(data.join(format!("{stem}.gz")), gz(&bytes)).unwrap();
            }
            let deb = tmp.path().join(format!("{name}.deb"));
            run(Command::new("dpkg-deb")
                .args(["--root-owner-group", "-b"])
                .arg(&root)
                .arg(&deb))
            .unwrap();
            deb
        };
        let spec = PackageSpec {
            package: "test-idx".into(),
            dir: "/usr/share/datasets/test-idx".into(),
            files: contents
                .iter()
                .map(|(stem, b)| (stem.to_string(), hex(&Sha256::digest(b))))
                .collect(),
        };
        let dest = tmp.path().join("data");
        let done = unpack_deb(&build("good", false), &spec, &dest).unwrap();
        assert!(
            done.source
                .starts_with("debian:test-idx 1.2-3 (/usr/share/datasets/test-idx)"),
            "{}",
            done.source
        );
        assert_eq!(done.files.len(), 4);
        assert_eq!(describe_source(&dest), done.source);
        let (train, test) =
            crate::idx::read_idx_dir(&dest, "fashion-mnist", &crate::idx::FASHION_MNIST_CLASSES)
                .unwrap();
        assert_eq!((train.len(), test.len()), (3, 1));
        assert!(!dest.join(".debian-unpack").exists());

        let other = tmp.path().join("data2");
        let e = unpack_deb(&build("bad", true), &spec, &other)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t10k-images-idx3-ubyte") && e.contains("SHA-256"),
            "{e}"
        );
        let left: Vec<_> = std::fs::read_dir(&other)
            .map(|d| d.count())
            .into_iter()
            .collect();
        assert_eq!(left, vec![0], "a rejected package left files behind");
    }
}
