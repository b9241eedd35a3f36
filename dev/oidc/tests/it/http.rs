//! The issuer over real HTTP: discovery, JWKS, minting (form and JSON), the token's signature
//! checked independently with p256, precise refusals, and the loopback guard.

use crate::common;

use std::net::SocketAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use dev_oidc::{DevIssuerOptions, DevOidcError, DEVELOPMENT_HEADER};
use p256::ecdsa::signature::Verifier as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

fn marked(r: &reqwest::Response) {
    assert_eq!(
        r.headers()
            .get(DEVELOPMENT_HEADER)
            .map(|v| v.to_str().unwrap()),
        Some("true"),
        "{} lacks the development header",
        r.url()
    );
}

async fn get_json(run: &common::Running, path: &str) -> Value {
    let r = run
        .client
        .get(format!("{}{path}", run.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    marked(&r);
    r.json().await.unwrap()
}

/// Decodes a JWS and checks its ES256 signature against the JWKS with p256 alone.
fn verify_independently(token: &str, jwks: &Value) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("token kid in JWKS");
    let mut sec1 = vec![4u8];
    sec1.extend(B64URL.decode(jwk["x"].as_str().unwrap()).unwrap());
    sec1.extend(B64URL.decode(jwk["y"].as_str().unwrap()).unwrap());
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let raw = B64URL.decode(parts[2]).unwrap();
    assert_eq!(raw.len(), 64, "JOSE ES256 signatures are r || s, 64 bytes");
    let sig = p256::ecdsa::Signature::from_slice(&raw).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    key.verify(input.as_bytes(), &sig).expect("ES256 signature");
    // A changed payload does not verify.
    assert!(key.verify(b"x.y", &sig).is_err());
    (header, claims)
}

#[tokio::test]
async fn discovery_and_jwks() {
    let run = common::start().await;
    let d = get_json(&run, "/.well-known/openid-configuration").await;
    assert_eq!(d["issuer"], run.url);
    assert_eq!(d["jwks_uri"], format!("{}/jwks", run.url));
    assert_eq!(d["token_endpoint"], format!("{}/token", run.url));
    assert_eq!(
        d["authorization_endpoint"],
        format!("{}/authorize", run.url)
    );
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["ES256"]));
    assert_eq!(d["response_types_supported"], json!(["id_token"]));
    assert_eq!(d["subject_types_supported"], json!(["public"]));
    assert_eq!(d["sigstack_development_issuer"], true);
    assert!(d["service_documentation"].is_string());

    let j = get_json(&run, "/jwks").await;
    let keys = j["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k["kty"], "EC");
    assert_eq!(k["crv"], "P-256");
    assert_eq!(k["alg"], "ES256");
    assert_eq!(k["use"], "sig");
    assert_eq!(k["kid"], run.issuer.key_id());
    assert_eq!(B64URL.decode(k["x"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(B64URL.decode(k["y"].as_str().unwrap()).unwrap().len(), 32);

    // The explanation page, and unknown routes, also say what this is.
    let r = run.client.get(&run.url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    marked(&r);
    let page = r.text().await.unwrap();
    assert!(page.contains("DEVELOPMENT"), "{page}");
    assert!(page.contains("NEVER USE IN PRODUCTION"), "{page}");
    assert!(page.contains(&format!("{}/token", run.url)), "{page}");
    assert!(page.contains("curl"), "{page}");
    let r = run
        .client
        .get(format!("{}/nope", run.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    marked(&r);
    let r = run
        .client
        .get(format!("{}/token", run.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    marked(&r);
    let r = run
        .client
        .get(format!("{}/authorize", run.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    marked(&r);
}

#[tokio::test]
async fn mints_by_form_and_json_with_the_right_claims() {
    let run = common::start().await;
    let jwks = get_json(&run, "/jwks").await;
    let endpoint = format!("{}/token", run.url);
    let before = common::now();
    let answers = [
        run.client
            .post(&endpoint)
            .form(&[
                ("grant_type", "client_credentials"),
                ("email", "alice@example.com"),
            ])
            .send()
            .await
            .unwrap(),
        run.client
            .post(&endpoint)
            .form(&[
                ("grant_type", "urn:sigstack:dev"),
                ("subject", "alice@example.com"),
                ("audience", "sigstore"),
                ("scope", "openid email"),
            ])
            .send()
            .await
            .unwrap(),
        run.client
            .post(&endpoint)
            .json(&json!({"email": "alice@example.com"}))
            .send()
            .await
            .unwrap(),
        run.client
            .post(&endpoint)
            .header("content-type", "application/json; charset=utf-8")
            .body(r#"{"email": "alice@example.com", "audience": "sigstore"}"#)
            .send()
            .await
            .unwrap(),
    ];
    for r in answers {
        assert_eq!(r.status(), 200);
        marked(&r);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 600);
        assert_eq!(body["id_token"], body["access_token"]);
        let (header, claims) = verify_independently(body["id_token"].as_str().unwrap(), &jwks);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(claims["iss"], run.url);
        assert_eq!(claims["sub"], "alice@example.com");
        assert_eq!(claims["email"], "alice@example.com");
        assert_eq!(claims["email_verified"], true);
        assert_eq!(claims["aud"], "sigstore");
        assert_eq!(claims["sigstack_development_issuer"], true);
        let iat = claims["iat"].as_i64().unwrap();
        assert!(iat >= before && iat <= common::now());
        assert_eq!(claims["nbf"], iat);
        assert_eq!(claims["exp"].as_i64().unwrap(), iat + 600);
    }

    // Another audience, and the library client.
    let t = dev_oidc::fetch_token(&run.url, "bob@example.org", "my-audience")
        .await
        .unwrap();
    let (_, claims) = verify_independently(&t, &jwks);
    assert_eq!(claims["aud"], "my-audience");
    assert_eq!(claims["sub"], "bob@example.org");
    let e = dev_oidc::fetch_token(&run.url, "not-an-email", "sigstore")
        .await
        .unwrap_err();
    match e {
        DevOidcError::Refused {
            status,
            error,
            description,
        } => {
            assert_eq!(status, 400);
            assert_eq!(error, "invalid_request");
            assert!(description.contains("email"), "{description}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn in_process_mint_and_configured_lifetime() {
    let run = common::start_with(
        DevIssuerOptions::default().with_token_lifetime(std::time::Duration::from_secs(90)),
    )
    .await;
    let jwks = get_json(&run, "/jwks").await;
    let t = run
        .issuer
        .mint("carol@example.net", "sigstore", 1_700_000_000)
        .unwrap();
    let (_, claims) = verify_independently(&t, &jwks);
    assert_eq!(claims["iat"], 1_700_000_000);
    assert_eq!(claims["exp"], 1_700_000_090);
    let r = run
        .client
        .post(format!("{}/token", run.url))
        .json(&json!({"email": "carol@example.net"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["expires_in"], 90);
    assert!(matches!(
        run.issuer.mint("carol", "sigstore", 0),
        Err(DevOidcError::InvalidEmail(_))
    ));
    assert!(matches!(
        run.issuer.mint("carol@example.net", "", 0),
        Err(DevOidcError::InvalidAudience(_))
    ));
}

#[tokio::test]
async fn the_key_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k").join("dev-oidc.key");
    let a = dev_oidc::DevIssuer::open(&path, "http://127.0.0.1:5556").unwrap();
    let b = dev_oidc::DevIssuer::open(&path, "http://127.0.0.1:5556").unwrap();
    assert_eq!(a.key_id(), b.key_id());
    assert_eq!(a.jwks(), b.jwks());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let e = dev_oidc::DevIssuer::open(&path, "http://192.0.2.1:5556").unwrap_err();
    assert!(matches!(e, DevOidcError::InvalidIssuerUrl { .. }), "{e}");
}

#[tokio::test]
async fn bad_requests_get_precise_oauth_errors() {
    let run = common::start().await;
    let endpoint = format!("{}/token", run.url);
    let huge = "a".repeat(300);
    let cases: Vec<(reqwest::RequestBuilder, &str, &str)> = vec![
        (
            run.client.post(&endpoint).json(&json!({})),
            "invalid_request",
            "missing email",
        ),
        (
            run.client
                .post(&endpoint)
                .form(&[("grant_type", "client_credentials")]),
            "invalid_request",
            "missing email",
        ),
        (
            run.client.post(&endpoint).json(&json!({"email": "alice"})),
            "invalid_request",
            "no @",
        ),
        (
            run.client
                .post(&endpoint)
                .json(&json!({"email": "alice@example"})),
            "invalid_request",
            "domain has no dot",
        ),
        (
            run.client
                .post(&endpoint)
                .json(&json!({"email": "al ice@example.com"})),
            "invalid_request",
            "local part",
        ),
        (
            run.client
                .post(&endpoint)
                .json(&json!({"email": "alice@example.com", "audience": huge})),
            "invalid_request",
            "longer than 256",
        ),
        (
            run.client
                .post(&endpoint)
                .json(&json!({"email": "alice@example.com", "audience": ""})),
            "invalid_request",
            "audience: empty",
        ),
        (
            run.client
                .post(&endpoint)
                .header("content-type", "text/plain")
                .body("email=alice@example.com"),
            "invalid_request",
            "unsupported Content-Type",
        ),
        (
            run.client.post(&endpoint).body("email=alice@example.com"),
            "invalid_request",
            "no Content-Type",
        ),
        (
            run.client
                .post(&endpoint)
                .form(&[("email", "alice@example.com")]),
            "invalid_request",
            "missing grant_type",
        ),
        (
            run.client
                .post(&endpoint)
                .form(&[("grant_type", "password"), ("email", "alice@example.com")]),
            "unsupported_grant_type",
            "grant_type must be",
        ),
        (
            run.client.post(&endpoint).form(&[
                ("grant_type", "client_credentials"),
                ("email", "alice@example.com"),
                ("email", "mallory@example.com"),
            ]),
            "invalid_request",
            "duplicate field",
        ),
        (
            run.client
                .post(&endpoint)
                .json(&json!({"email": "alice@example.com", "subject": "bob@example.com"})),
            "invalid_request",
            "differ",
        ),
        (
            run.client
                .post(&endpoint)
                .header("content-type", "application/json")
                .body("{not json"),
            "invalid_request",
            "malformed JSON",
        ),
        (
            run.client
                .post(&endpoint)
                .json(&json!({"email": ["alice@example.com"]})),
            "invalid_request",
            "malformed JSON",
        ),
    ];
    for (request, error, needle) in cases {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 400, "{needle}");
        marked(&r);
        assert_eq!(r.headers()["content-type"], "application/json");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], error, "{body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(needle), "{needle:?} not in {body}");
        assert!(!description.contains('"'), "{body}");
    }
    // A body over the limit.
    let r = run
        .client
        .post(&endpoint)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"email":"alice@example.com","x":"{}"}}"#,
            "a".repeat(dev_oidc::MAX_TOKEN_REQUEST_BYTES)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    marked(&r);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
}

fn request_from(peer: Option<SocketAddr>) -> axum::http::Request<axum::body::Body> {
    let mut r = axum::http::Request::get("/.well-known/openid-configuration")
        .body(axum::body::Body::empty())
        .unwrap();
    if let Some(p) = peer {
        r.extensions_mut().insert(axum::extract::ConnectInfo(p));
    }
    r
}

#[tokio::test]
async fn non_loopback_peers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let issuer = dev_oidc::DevIssuer::open(&key, "http://127.0.0.1:5556").unwrap();
    let app = dev_oidc::router(issuer);
    let status = |r: &axum::response::Response| {
        assert_eq!(r.headers()[DEVELOPMENT_HEADER], "true");
        r.status().as_u16()
    };
    for (peer, want) in [
        ("127.0.0.1:4000", 200),
        ("127.9.9.9:4000", 200),
        ("[::1]:4000", 200),
        ("[::ffff:127.0.0.1]:4000", 200),
        ("192.0.2.7:4000", 403),
        ("[2001:db8::1]:4000", 403),
        ("[::ffff:192.0.2.7]:4000", 403),
    ] {
        let r = app
            .clone()
            .oneshot(request_from(Some(peer.parse().unwrap())))
            .await
            .unwrap();
        assert_eq!(status(&r), want, "{peer}");
    }
    // Served without connect info: fail closed.
    let r = app.clone().oneshot(request_from(None)).await.unwrap();
    assert_eq!(status(&r), 500);

    // The loud override lets a container network through.
    let open = dev_oidc::DevIssuer::open_with(
        &key,
        "http://dev-oidc:5556",
        DevIssuerOptions::default().allow_non_loopback_unsafe(),
    )
    .unwrap();
    let r = dev_oidc::router(open)
        .oneshot(request_from(Some("192.0.2.7:4000".parse().unwrap())))
        .await
        .unwrap();
    assert_eq!(status(&r), 200);
}

#[test]
fn listen_addresses() {
    use dev_oidc::check_listen_addr;
    for ok in [
        "127.0.0.1:5556",
        "127.0.0.2:1",
        "[::1]:5556",
        "[::ffff:127.0.0.1]:1",
    ] {
        check_listen_addr(ok.parse().unwrap(), false).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "0.0.0.0:5556",
        "[::]:5556",
        "192.168.1.10:5556",
        "[2001:db8::1]:1",
    ] {
        let e = check_listen_addr(bad.parse().unwrap(), false).unwrap_err();
        assert!(
            matches!(e, DevOidcError::NonLoopbackListenAddress(_)),
            "{bad}: {e}"
        );
        assert!(e.to_string().contains("allow_non_loopback_unsafe"));
        check_listen_addr(bad.parse().unwrap(), true).unwrap();
    }
}
