//! RSA private keys from PEM: PKCS#1 (`BEGIN RSA PRIVATE KEY`) as is, PKCS#8
//! (`BEGIN PRIVATE KEY`) unwrapped to the PKCS#1 key inside, which is what jsonwebtoken's
//! `EncodingKey::from_rsa_der` takes. (jsonwebtoken's own PEM parser needs its `use_pem`
//! feature, which would bring an ASN.1 crate and `time` into the tree for these few lines.)

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// `rsaEncryption` (1.2.840.113549.1.1.1), DER-encoded with its tag and length.
const RSA_ENCRYPTION_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// The PKCS#1 DER of an RSA private key in PEM form, or `None`.
pub(crate) fn rsa_private_key_der(pem: &str) -> Option<Vec<u8>> {
    let (label, der) = decode(pem)?;
    match label.as_str() {
        "RSA PRIVATE KEY" => Some(der),
        "PRIVATE KEY" => pkcs8_inner(&der).map(<[u8]>::to_vec),
        _ => None,
    }
}

/// The label and the decoded body of the first PEM block.
fn decode(pem: &str) -> Option<(String, Vec<u8>)> {
    let mut lines = pem.lines().map(str::trim);
    let label = lines
        .find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))?
        .to_string();
    let end = format!("-----END {label}-----");
    let body: String = lines.take_while(|l| *l != end).collect();
    Some((label, STANDARD.decode(body).ok()?))
}

/// PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE { rsaEncryption, … },
/// privateKey OCTET STRING } — returns the OCTET STRING's content.
fn pkcs8_inner(der: &[u8]) -> Option<&[u8]> {
    let (tag, info, _) = element(der)?;
    if tag != 0x30 {
        return None;
    }
    let (version_tag, _, rest) = element(info)?;
    let (algorithm_tag, algorithm, rest) = element(rest)?;
    let (key_tag, key, _) = element(rest)?;
    let is_rsa = algorithm.starts_with(RSA_ENCRYPTION_OID);
    (version_tag == 0x02 && algorithm_tag == 0x30 && is_rsa && key_tag == 0x04).then_some(key)
}

/// One DER element: (tag, content, what follows).
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_without_panicking() {
        assert!(rsa_private_key_der("").is_none());
        assert!(
            rsa_private_key_der("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----")
                .is_none()
        );
        assert!(
            rsa_private_key_der("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----")
                .is_none()
        );
        assert!(
            rsa_private_key_der("-----BEGIN PRIVATE KEY-----\nMIIK\n-----END PRIVATE KEY-----")
                .is_none()
        );
        assert!(
            rsa_private_key_der("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----")
                .is_none()
        );
    }
}
