//! The application's RSA key pair, through aws-lc-rs only.
//!
//! Fintecture gives each application one RSA key pair. The **private** key signs every API
//! request (RSA PKCS#1 v1.5 with SHA-256) and decrypts the signature of every webhook
//! (RSA-OAEP with SHA-1 and MGF1-SHA-1); Fintecture holds the **public** key.
//!
//! Keys are read from PEM: `-----BEGIN PRIVATE KEY-----` (PKCS#8) and
//! `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1) both load; an encrypted PEM is refused with a clear
//! [`Error::Config`]. Public keys load from `-----BEGIN PUBLIC KEY-----` (X.509
//! SubjectPublicKeyInfo) or `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1).
//!
//! ## Why aws-lc-rs
//! Webhook verification performs an RSA private-key decryption of a ciphertext anyone can post
//! to the merchant's endpoint: the setting of the Marvin timing attack, for which the RustCrypto
//! `rsa` crate has an open advisory (RUSTSEC-2023-0071). aws-lc-rs (AWS-LC, already in the tree
//! through rustls) decrypts and signs in constant time. The webhook verifier also checks the
//! cheap, public parts of a delivery (key id, body digest, freshness) *before* touching the
//! private key, so a forged delivery usually never reaches the decryption.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeyPair, OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use payments_core::Error;

/// The application's private key: signs requests and decrypts webhook signatures.
///
/// `Debug` shows only the key size; the key material never leaves this type except through
/// [`AppPrivateKey::to_pkcs8_pem`], which exists for tests and key generation.
pub struct AppPrivateKey {
    signing: KeyPair,
    decrypting: OaepPrivateDecryptingKey,
    public: AppPublicKey,
}

impl fmt::Debug for AppPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppPrivateKey")
            .field("bits", &(self.signing.public_modulus_len() * 8))
            .field("material", &"[REDACTED]")
            .finish()
    }
}

fn config(reason: impl Into<String>) -> Error {
    Error::Config(reason.into())
}

impl AppPrivateKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let block = pem_decode(pem, PRIVATE_LABELS)?;
        match block.label.as_str() {
            // A mislabelled block (PKCS#1 under `PRIVATE KEY` or the reverse) still loads.
            "PRIVATE KEY" => Self::from_pkcs8_der(&block.der)
                .or_else(|e| Self::from_pkcs1_der(&block.der).map_err(|_| e)),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&block.der)
                .or_else(|e| Self::from_pkcs8_der(&block.der).map_err(|_| e)),
            "ENCRYPTED PRIVATE KEY" => Err(config(
                "the Fintecture private key is an encrypted PEM (ENCRYPTED PRIVATE KEY); \
                 decrypt it first (openssl pkcs8 -in key.pem -out plain.pem)",
            )),
            other => Err(config(format!(
                "the Fintecture private key PEM is a {other:?} block; expected PRIVATE KEY \
                 (PKCS#8) or RSA PRIVATE KEY (PKCS#1)"
            ))),
        }
    }

    /// Reads an unencrypted PKCS#8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let signing = KeyPair::from_pkcs8(der)
            .map_err(|e| config(format!("invalid RSA private key (PKCS#8): {e}")))?;
        Self::from_signing(signing, der)
    }

    /// Reads a PKCS#1 (`RSAPrivateKey`) DER private key.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        let signing = KeyPair::from_der(der)
            .map_err(|e| config(format!("invalid RSA private key (PKCS#1): {e}")))?;
        let pkcs8 = signing
            .as_der()
            .map_err(|_| config("cannot re-encode the RSA private key"))?;
        Self::from_signing(signing, pkcs8.as_ref())
    }

    /// Generates a fresh 2048-bit key pair (tests, the local sandbox). Takes a moment.
    pub fn generate() -> Result<Self, Error> {
        let signing = KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| config("could not generate an RSA key pair"))?;
        let pkcs8 = signing
            .as_der()
            .map_err(|_| config("cannot encode the RSA private key"))?;
        Self::from_signing(signing, pkcs8.as_ref())
    }

    fn from_signing(signing: KeyPair, pkcs8: &[u8]) -> Result<Self, Error> {
        let decrypting = PrivateDecryptingKey::from_pkcs8(pkcs8)
            .map_err(|e| config(format!("RSA key unusable for decryption: {e}")))?;
        let decrypting = OaepPrivateDecryptingKey::new(decrypting)
            .map_err(|_| config("RSA key unusable for OAEP decryption"))?;
        let public = AppPublicKey::from_der(signing.public_key().as_ref())?;
        Ok(AppPrivateKey {
            signing,
            decrypting,
            public,
        })
    }

    /// The matching public key (what Fintecture holds).
    pub fn public_key(&self) -> &AppPublicKey {
        &self.public
    }

    /// The key as PKCS#8 PEM. For tests and key generation only: never log it.
    pub fn to_pkcs8_pem(&self) -> Result<payments_core::secret::SecretString, Error> {
        let der = self
            .signing
            .as_der()
            .map_err(|_| config("cannot encode the RSA private key"))?;
        Ok(pem_encode("PRIVATE KEY", der.as_ref()).into())
    }

    /// Modulus length in bytes (256 for a 2048-bit key).
    pub fn size_bytes(&self) -> usize {
        self.signing.public_modulus_len()
    }

    /// RSA PKCS#1 v1.5 SHA-256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut signature = vec![0u8; self.signing.public_modulus_len()];
        self.signing
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| config("RSA signing failed"))?;
        Ok(signature)
    }

    /// RSA-OAEP (SHA-1, MGF1-SHA-1, empty label) decryption. `None` for anything that does not
    /// decrypt (wrong length, another key's ciphertext, bad padding) — one answer for every
    /// failure, so the caller cannot leak which.
    pub fn decrypt_oaep_sha1(&self, ciphertext: &[u8]) -> Option<Vec<u8>> {
        if ciphertext.len() != self.decrypting.key_size_bytes() {
            return None;
        }
        let mut out = vec![0u8; self.decrypting.min_output_size()];
        let plain = self
            .decrypting
            .decrypt(&OAEP_SHA1_MGF1SHA1, ciphertext, &mut out, None)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// The application's public key: verifies request signatures (the sandbox side) and encrypts
/// webhook signing strings (what Fintecture does; see [`crate::testing::WebhookSigner`]).
#[derive(Clone, PartialEq, Eq)]
pub struct AppPublicKey {
    /// X.509 SubjectPublicKeyInfo DER.
    spki: Vec<u8>,
}

impl fmt::Debug for AppPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppPublicKey")
            .field("spki_len", &self.spki.len())
            .finish()
    }
}

impl AppPublicKey {
    /// Reads a PEM public key: `BEGIN PUBLIC KEY` (SPKI) or `BEGIN RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let block = pem_decode(pem, PUBLIC_LABELS)?;
        match block.label.as_str() {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Self::from_der(&block.der),
            other => Err(config(format!(
                "the public key PEM is a {other:?} block; expected PUBLIC KEY or RSA PUBLIC KEY"
            ))),
        }
    }

    /// Reads a DER public key, SPKI or PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let key = aws_lc_rs::rsa::PublicKey::from_der(der)
            .map_err(|e| config(format!("invalid RSA public key: {e}")))?;
        let spki = key
            .as_der()
            .map_err(|_| config("cannot encode the RSA public key"))?;
        let spki = spki.as_ref().to_vec();
        // Refuse keys outside what signing/encryption accept (e.g. 1024-bit).
        PublicEncryptingKey::from_der(&spki)
            .map_err(|e| config(format!("unsupported RSA public key: {e}")))?;
        Ok(AppPublicKey { spki })
    }

    /// The key as `BEGIN PUBLIC KEY` PEM (what is uploaded to the Fintecture console).
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki)
    }

    /// SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// Verifies an RSA PKCS#1 v1.5 SHA-256 signature (2048 to 8192-bit keys).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.spki)
            .verify(message, signature)
            .is_ok()
    }

    /// RSA-OAEP (SHA-1, MGF1-SHA-1, empty label) encryption, as Fintecture encrypts webhook
    /// signing strings.
    pub fn encrypt_oaep_sha1(&self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let key = PublicEncryptingKey::from_der(&self.spki)
            .map_err(|e| config(format!("RSA key unusable for OAEP: {e}")))?;
        let key = OaepPublicEncryptingKey::new(key)
            .map_err(|_| config("RSA key unusable for OAEP encryption"))?;
        if plaintext.len() > key.max_plaintext_size(&OAEP_SHA1_MGF1SHA1) {
            return Err(config("plaintext too long for RSA-OAEP with this key"));
        }
        let mut out = vec![0u8; key.ciphertext_size()];
        let cipher = key
            .encrypt(&OAEP_SHA1_MGF1SHA1, plaintext, &mut out, None)
            .map_err(|_| config("RSA-OAEP encryption failed"))?;
        Ok(cipher.to_vec())
    }
}

struct PemBlock {
    label: String,
    der: Vec<u8>,
}

/// Private-key PEM labels: the two accepted forms and the encrypted one (refused clearly).
const PRIVATE_LABELS: &[&str] = &["PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"];
/// Public-key PEM labels.
const PUBLIC_LABELS: &[&str] = &["PUBLIC KEY", "RSA PUBLIC KEY"];

/// A PEM label as RFC 7468 writes them (`PRIVATE KEY`, `RSA PRIVATE KEY`): short, uppercase
/// letters, digits and spaces. Anything else means a broken header line, and the text is never
/// repeated in an error (it could be the key material itself).
fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 64
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
}

/// Decodes the first PEM block of `pem` whose label is in `wanted`, skipping other blocks (a
/// certificate or public key in the same file). Tolerates CRLF line ends, surrounding text, a
/// key flattened onto one line, and a key whose line breaks were written as the two characters
/// `\n` (environment variables). Encrypted (RFC 1421 `Proc-Type: 4,ENCRYPTED`) blocks are
/// refused. Errors never repeat the input, only well-formed labels.
fn pem_decode(pem: &str, wanted: &[&str]) -> Result<PemBlock, Error> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    // Base64 and PEM labels never contain a backslash: `\n` can only be an escaped line break.
    let unescaped;
    let pem = if pem.contains("\\n") {
        unescaped = pem.replace("\\r", "").replace("\\n", "\n");
        unescaped.as_str()
    } else {
        pem
    };
    let mut rest = pem;
    let mut other_labels: Vec<String> = Vec::new();
    loop {
        let Some(begin) = rest.find(BEGIN) else {
            return Err(if other_labels.is_empty() {
                config("the key is not PEM (no -----BEGIN line)")
            } else {
                config(format!(
                    "the PEM holds {} block(s), none of them a {}",
                    other_labels.join(", "),
                    wanted.join(" or ")
                ))
            });
        };
        let after_begin = rest.get(begin + BEGIN.len()..).unwrap_or_default();
        let label_end = after_begin
            .find(DASHES)
            .ok_or_else(|| config("malformed PEM header line"))?;
        let label = after_begin.get(..label_end).unwrap_or_default().trim();
        if !valid_label(label) {
            return Err(config("malformed PEM header line"));
        }
        let body = after_begin
            .get(label_end + DASHES.len()..)
            .unwrap_or_default();
        let end_marker = format!("-----END {label}-----");
        let end = body
            .find(&end_marker)
            .ok_or_else(|| config(format!("PEM block {label:?} has no matching END line")))?;
        if !wanted.contains(&label) {
            other_labels.push(format!("{label:?}"));
            rest = body.get(end + end_marker.len()..).unwrap_or_default();
            continue;
        }
        let body = body.get(..end).unwrap_or_default();
        if body.contains("Proc-Type:") || body.contains("DEK-Info:") {
            return Err(config(
                "the Fintecture private key is an encrypted PEM (Proc-Type: 4,ENCRYPTED); \
                 decrypt it first (openssl rsa -in key.pem -out plain.pem)",
            ));
        }
        let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = B64
            .decode(b64.as_bytes())
            .map_err(|_| config(format!("PEM block {label:?} is not valid base64")))?;
        return Ok(PemBlock {
            label: label.to_string(),
            der,
        });
    }
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use payments_core::secret::ExposeSecret;

    fn key() -> &'static AppPrivateKey {
        static KEY: std::sync::OnceLock<AppPrivateKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| AppPrivateKey::generate().unwrap())
    }

    #[test]
    fn pkcs8_pem_round_trips_and_signs_verifiably() {
        let pem = key().to_pkcs8_pem().unwrap();
        assert!(
            pem.expose_secret()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        let again = AppPrivateKey::from_pem(pem.expose_secret()).unwrap();
        assert_eq!(again.public_key(), key().public_key());
        let sig = again.sign(b"hello").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(key().public_key().verify(b"hello", &sig));
        assert!(!key().public_key().verify(b"hellO", &sig));
    }

    #[test]
    fn pkcs1_pem_loads_to_the_same_key() {
        // Extract the PKCS#1 RSAPrivateKey from the PKCS#8 wrapper: PKCS#8 is
        // SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING { RSAPrivateKey } }; the
        // RSAPrivateKey is the DER SEQUENCE found after the rsaEncryption identifier.
        let pem = key().to_pkcs8_pem().unwrap();
        let der = pem_decode(pem.expose_secret(), PRIVATE_LABELS).unwrap().der;
        // rsaEncryption OID + NULL, then OCTET STRING (0x04) with a long length.
        let oid = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        ];
        let at = der.windows(oid.len()).position(|w| w == oid).unwrap() + oid.len();
        assert_eq!(der[at], 0x04);
        let len_bytes = usize::from(der[at + 1] & 0x7f);
        let inner = &der[at + 2 + len_bytes..];
        let pkcs1_pem = pem_encode("RSA PRIVATE KEY", inner);
        let loaded = AppPrivateKey::from_pem(&pkcs1_pem).unwrap();
        assert_eq!(loaded.public_key(), key().public_key());
        let ct = key().public_key().encrypt_oaep_sha1(b"date: x").unwrap();
        assert_eq!(loaded.decrypt_oaep_sha1(&ct).unwrap(), b"date: x");
    }

    #[test]
    fn encrypted_and_foreign_pem_are_refused_clearly() {
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = AppPrivateKey::from_pem(encrypted).unwrap_err().to_string();
        assert!(e.contains("encrypted"), "{e}");
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMIIB\n-----END RSA PRIVATE KEY-----\n";
        let e = AppPrivateKey::from_pem(legacy).unwrap_err().to_string();
        assert!(e.contains("encrypted"), "{e}");
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert!(AppPrivateKey::from_pem(cert).is_err());
        assert!(AppPrivateKey::from_pem("not a pem").is_err());
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            AppPrivateKey::from_pem(garbage),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn a_broken_header_line_never_echoes_the_key_material() {
        // Four dashes instead of five: the "label" would run into the key material.
        let broken =
            "-----BEGIN PRIVATE KEY----\nMIIEvQSECRETMATERIAL\n-----END PRIVATE KEY-----\n";
        let e = AppPrivateKey::from_pem(broken).unwrap_err().to_string();
        assert!(!e.contains("SECRETMATERIAL"), "{e}");
        let lowercase = "-----BEGIN private MIIEvQSECRETMATERIAL-----\n";
        let e = AppPrivateKey::from_pem(lowercase).unwrap_err().to_string();
        assert!(!e.contains("SECRETMATERIAL"), "{e}");
    }

    #[test]
    fn real_world_pem_variants_load() {
        let pem = key().to_pkcs8_pem().unwrap();
        let pem = pem.expose_secret();
        let expected = key().public_key();
        // CRLF line ends and text around the block.
        let crlf = format!("Bag Attributes\r\n{}\r\n", pem.replace('\n', "\r\n"));
        assert_eq!(
            AppPrivateKey::from_pem(&crlf).unwrap().public_key(),
            expected
        );
        // Line breaks written as the two characters backslash-n (an environment variable).
        let escaped = pem.replace('\n', "\\n");
        assert!(!escaped.contains('\n'));
        assert_eq!(
            AppPrivateKey::from_pem(&escaped).unwrap().public_key(),
            expected
        );
        // Flattened onto one line.
        let flat = pem.replace('\n', " ");
        assert_eq!(
            AppPrivateKey::from_pem(&flat).unwrap().public_key(),
            expected
        );
        // A bundle with the public key (or a certificate) before the private key.
        let bundle = format!("{}{pem}", expected.to_pem());
        assert_eq!(
            AppPrivateKey::from_pem(&bundle).unwrap().public_key(),
            expected
        );
        // PKCS#8 content under the PKCS#1 label.
        let der = pem_decode(pem, PRIVATE_LABELS).unwrap().der;
        let mislabelled = pem_encode("RSA PRIVATE KEY", &der);
        assert_eq!(
            AppPrivateKey::from_pem(&mislabelled).unwrap().public_key(),
            expected
        );
        // Only a public key: a clear error naming what was found.
        let e = AppPrivateKey::from_pem(&expected.to_pem())
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"PUBLIC KEY\""), "{e}");
    }

    #[test]
    fn public_key_pem_round_trips() {
        let pem = key().public_key().to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(&AppPublicKey::from_pem(&pem).unwrap(), key().public_key());
    }

    #[test]
    fn oaep_round_trip_and_failures() {
        let ct = key()
            .public_key()
            .encrypt_oaep_sha1(b"secret line")
            .unwrap();
        assert_eq!(key().decrypt_oaep_sha1(&ct).unwrap(), b"secret line");
        let mut flipped = ct.clone();
        flipped[10] ^= 1;
        assert_eq!(key().decrypt_oaep_sha1(&flipped), None);
        assert_eq!(key().decrypt_oaep_sha1(&ct[1..]), None);
        assert_eq!(key().decrypt_oaep_sha1(b""), None);
    }

    #[test]
    fn debug_shows_no_key_material() {
        let shown = format!("{:?}", key());
        assert!(shown.contains("REDACTED"));
        assert!(!shown.contains("MII"));
    }
}
