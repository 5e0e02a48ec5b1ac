//! `golive keygen`: an Ed25519 key pair for signing reports. NAME.key holds the private key
//! (PKCS#8 PEM, mode 0600, never overwritten), NAME.pub the public key (SubjectPublicKeyInfo
//! PEM), which goes into the keyring auditors verify with.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use clap::Args;

use super::exit;
use crate::signing::keys::SigningKey;

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Writes NAME.key (private) and NAME.pub (public), e.g. --out keys/ann.
    #[arg(long, value_name = "NAME")]
    out: PathBuf,
}

pub fn run(args: KeygenArgs) -> u8 {
    let name = args.out.to_string_lossy().trim_end_matches(".key").to_string();
    let (private_path, public_path) = (PathBuf::from(format!("{name}.key")), PathBuf::from(format!("{name}.pub")));
    for p in [&private_path, &public_path] {
        if p.exists() {
            eprintln!("error: {} exists; golive never overwrites a key (choose another --out)", p.display());
            return exit::INVALID;
        }
    }
    let (private_pem, key) = match SigningKey::generate() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("golive: {e}");
            return exit::INTERNAL;
        }
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&private_path)
        .and_then(|mut f| f.write_all(private_pem.as_bytes()).and_then(|_| f.sync_all()));
    if let Err(e) = written {
        eprintln!("golive: cannot write {}: {e}", private_path.display());
        return exit::INTERNAL;
    }
    let public_pem = key.public.to_pem();
    if let Err(e) = std::fs::write(&public_path, &public_pem) {
        eprintln!("golive: cannot write {}: {e}", public_path.display());
        return exit::INTERNAL;
    }
    println!("private key: {} (PKCS#8 PEM, mode 0600: keep it secret)", private_path.display());
    println!("public key:  {}", public_path.display());
    println!("key id:      {}", key.public.keyid);
    print!("{public_pem}");
    exit::PASSED
}
