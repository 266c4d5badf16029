//! RFC 9421 HTTP Message Signatures on the activities we deliver, for the
//! servers that refuse draft-cavage signatures (the "double knock": see
//! [`super::worker`]). The profile is the one Mastodon verifies
//! (`app/lib/signed_request.rb`, 4.5) and WordPress's ActivityPub plugin
//! sends: one signature labelled `sig1`, covering `@method`, `@target-uri`,
//! `@authority` and `content-digest` (SHA-256, RFC 9530), with `created`,
//! `keyid` and `alg="rsa-v1_5-sha256"`, made with the same RSA PKCS#1 v1.5
//! primitive (the `rsa` crate) that activitypub_federation signs with.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};
use url::Url;

/// The label of our one signature.
const LABEL: &str = "sig1";

/// The three headers that carry an RFC 9421 signature of a POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub content_digest: String,
    pub signature_input: String,
    pub signature: String,
}

/// `Content-Digest` (RFC 9530) of a body: `sha-256=:…:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)))
}

/// The signature base (RFC 9421 §2.5): one line per covered component, in
/// order, then the `@signature-params` line, with no newline after it.
/// `components` are (lower-case name, value) pairs; `params` is the
/// serialized inner list with its parameters, as `Signature-Input` carries it.
pub fn signature_base(components: &[(&str, &str)], params: &str) -> String {
    let mut base = String::new();
    for (name, value) in components {
        base.push_str(&format!("\"{name}\": {}\n", value.trim()));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    base
}

/// Serializes the covered components and the parameters:
/// `("@method" "@target-uri");created=1618884473;keyid="…";alg="…"`.
fn serialize_params(components: &[(&str, &str)], created: i64, key_id: &str) -> String {
    let names: Vec<String> = components
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    format!(
        "({});created={created};keyid={};alg=\"rsa-v1_5-sha256\"",
        names.join(" "),
        sf_string(key_id)
    )
}

/// A structured-field string (RFC 8941 §3.3.3): quoted, `"` and `\` escaped.
pub fn sf_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Signs the base with RSASSA-PKCS1-v1_5 over SHA-256.
fn sign_base(base: &str, key: &RsaPrivateKey) -> Result<String, rsa::Error> {
    let signature = key.sign(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(base.as_bytes()),
    )?;
    Ok(BASE64.encode(signature))
}

/// The signature headers of a POST of `body` to `target`, signed at
/// `created` (Unix seconds) by the key `key_id` names.
pub fn sign_post(
    target: &Url,
    body: &[u8],
    key_id: &str,
    key: &RsaPrivateKey,
    created: i64,
) -> Result<SignatureHeaders, rsa::Error> {
    let digest = content_digest(body);
    // What goes on the wire: no fragment, no user information.
    let mut target = target.clone();
    target.set_fragment(None);
    let _ = target.set_username("");
    let _ = target.set_password(None);
    // The host, and the port only when it is not the scheme's default.
    let authority = match target.port() {
        Some(port) => format!("{}:{port}", target.host_str().unwrap_or_default()),
        None => target.host_str().unwrap_or_default().to_string(),
    };
    let components = [
        ("@method", "POST"),
        ("@target-uri", target.as_str()),
        ("@authority", authority.as_str()),
        ("content-digest", digest.as_str()),
    ];
    let params = serialize_params(&components, created, key_id);
    let signature = sign_base(&signature_base(&components, &params), key)?;
    Ok(SignatureHeaders {
        content_digest: digest,
        signature_input: format!("{LABEL}={params}"),
        signature: format!("{LABEL}=:{signature}:"),
    })
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::signature::Verifier;

    use super::*;

    /// RFC 9421 Appendix B.1.1, `test-key-rsa`.
    const TEST_KEY_RSA: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEqAIBAAKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsP
BRrwWEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsd
JKFqMGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75
jfZgkne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKI
lE0PuKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZ
SFlQPSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQABAoIBAG/JZuSWdoVHbi56
vjgCgkjg3lkO1KrO3nrdm6nrgA9P9qaPjxuKoWaKO1cBQlE1pSWp/cKncYgD5WxE
CpAnRUXG2pG4zdkzCYzAh1i+c34L6oZoHsirK6oNcEnHveydfzJL5934egm6p8DW
+m1RQ70yUt4uRc0YSor+q1LGJvGQHReF0WmJBZHrhz5e63Pq7lE0gIwuBqL8SMaA
yRXtK+JGxZpImTq+NHvEWWCu09SCq0r838ceQI55SvzmTkwqtC+8AT2zFviMZkKR
Qo6SPsrqItxZWRty2izawTF0Bf5S2VAx7O+6t3wBsQ1sLptoSgX3QblELY5asI0J
YFz7LJECgYkAsqeUJmqXE3LP8tYoIjMIAKiTm9o6psPlc8CrLI9CH0UbuaA2JCOM
cCNq8SyYbTqgnWlB9ZfcAm/cFpA8tYci9m5vYK8HNxQr+8FS3Qo8N9RJ8d0U5Csw
DzMYfRghAfUGwmlWj5hp1pQzAuhwbOXFtxKHVsMPhz1IBtF9Y8jvgqgYHLbmyiu1
mwJ5AL0pYF0G7x81prlARURwHo0Yf52kEw1dxpx+JXER7hQRWQki5/NsUEtv+8RT
qn2m6qte5DXLyn83b1qRscSdnCCwKtKWUug5q2ZbwVOCJCtmRwmnP131lWRYfj67
B/xJ1ZA6X3GEf4sNReNAtaucPEelgR2nsN0gKQKBiGoqHWbK1qYvBxX2X3kbPDkv
9C+celgZd2PW7aGYLCHq7nPbmfDV0yHcWjOhXZ8jRMjmANVR/eLQ2EfsRLdW69bn
f3ZD7JS1fwGnO3exGmHO3HZG+6AvberKYVYNHahNFEw5TsAcQWDLRpkGybBcxqZo
81YCqlqidwfeO5YtlO7etx1xLyqa2NsCeG9A86UjG+aeNnXEIDk1PDK+EuiThIUa
/2IxKzJKWl1BKr2d4xAfR0ZnEYuRrbeDQYgTImOlfW6/GuYIxKYgEKCFHFqJATAG
IxHrq1PDOiSwXd2GmVVYyEmhZnbcp8CxaEMQoevxAta0ssMK3w6UsDtvUvYvF22m
qQKBiD5GwESzsFPy3Ga0MvZpn3D6EJQLgsnrtUPZx+z2Ep2x0xc5orneB5fGyF1P
WtP+fG5Q6Dpdz3LRfm+KwBCWFKQjg7uTxcjerhBWEYPmEMKYwTJF5PBG9/ddvHLQ
EQeNC8fHGg4UXU8mhHnSBt3EA10qQJfRDs15M38eG2cYwB1PZpDHScDnDA0=
-----END RSA PRIVATE KEY-----";

    fn test_key() -> RsaPrivateKey {
        RsaPrivateKey::from_pkcs1_pem(TEST_KEY_RSA).expect("test-key-rsa")
    }

    /// RFC 9421 §4.3, the `proxy_sig` signature: the only example of the RFC
    /// made with rsa-v1_5-sha256, which is deterministic, so the bytes must
    /// match exactly.
    #[test]
    fn the_rfc_example_signature_is_reproduced_exactly() {
        let components = [
            ("@method", "POST"),
            ("@authority", "origin.host.internal.example"),
            ("@path", "/foo"),
            (
                "content-digest",
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            ),
            ("content-type", "application/json"),
            ("content-length", "18"),
            ("forwarded", "for=192.0.2.123;host=example.com;proto=https"),
        ];
        let params = "(\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" \"content-length\" \"forwarded\");created=1618884480;keyid=\"test-key-rsa\";alg=\"rsa-v1_5-sha256\";expires=1618884540";
        let base = signature_base(&components, params);
        assert!(
            base.starts_with("\"@method\": POST\n\"@authority\": origin.host.internal.example\n")
        );
        assert!(base.ends_with(&format!("\n\"@signature-params\": {params}")));
        assert_eq!(
            sign_base(&base, &test_key()).expect("sign"),
            "S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g=="
        );
    }

    #[test]
    fn the_content_digest_is_rfc_9530s() {
        // RFC 9530 §2's example body and its sha-256 value.
        assert_eq!(
            content_digest(b"{\"hello\": \"world\"}"),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
    }

    /// Checks the signature in `headers` over `base`, as a receiver would.
    fn verifies(headers: &SignatureHeaders, base: &str, key: &RsaPrivateKey) {
        let encoded = headers
            .signature
            .strip_prefix("sig1=:")
            .and_then(|s| s.strip_suffix(':'))
            .expect("sf binary");
        let bytes = BASE64.decode(encoded).expect("base64");
        let verifying = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.to_public_key());
        let signature = rsa::pkcs1v15::Signature::try_from(bytes.as_slice()).expect("signature");
        verifying
            .verify(base.as_bytes(), &signature)
            .expect("verifies");
    }

    #[test]
    fn a_post_is_signed_in_the_profile_mastodon_verifies() {
        let key = test_key();
        let target =
            Url::parse("https://mastodon.example:8443/users/alice/inbox?x=1").expect("url");
        let body = b"{\"type\":\"Create\"}";
        let headers = sign_post(
            &target,
            body,
            "https://blog.example/users/blog#main-key",
            &key,
            1_700_000_000,
        )
        .expect("sign");
        let params = "(\"@method\" \"@target-uri\" \"@authority\" \"content-digest\");created=1700000000;keyid=\"https://blog.example/users/blog#main-key\";alg=\"rsa-v1_5-sha256\"";
        assert_eq!(headers.signature_input, format!("sig1={params}"));
        assert_eq!(headers.content_digest, content_digest(body));
        // Verify as a receiver would: rebuild the base from the request.
        let base = format!(
            "\"@method\": POST\n\"@target-uri\": https://mastodon.example:8443/users/alice/inbox?x=1\n\"@authority\": mastodon.example:8443\n\"content-digest\": {}\n\"@signature-params\": {params}",
            headers.content_digest
        );
        verifies(&headers, &base, &key);
        // The default port is not part of the authority, and what never
        // goes on the wire (fragment, user information) is not signed.
        let plain = Url::parse("https://u:p@mastodon.example/inbox#x").expect("url");
        let headers = sign_post(&plain, body, "k", &key, 1).expect("sign");
        assert!(headers.signature_input.contains("keyid=\"k\""));
        let base = format!(
            "\"@method\": POST\n\"@target-uri\": https://mastodon.example/inbox\n\"@authority\": mastodon.example\n\"content-digest\": {}\n\"@signature-params\": (\"@method\" \"@target-uri\" \"@authority\" \"content-digest\");created=1;keyid=\"k\";alg=\"rsa-v1_5-sha256\"",
            headers.content_digest
        );
        verifies(&headers, &base, &key);
        assert_eq!(sf_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
