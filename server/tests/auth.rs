//! Integration tests of auth: the `auth.*` services, tokens, rules and, with `--auth`,
//! enforcement and namespace isolation, against a server in process.

mod common;

use common::Running;
use micro_server::{
    MicroError, Options,
    pb::{
        auth::{
            Access, Account, ChangeSecretRequest, CreateRequest, DeleteAccountRequest, DeleteRequest, GenerateRequest,
            InspectRequest, ListAccountsRequest, ListRequest, Options as AuthOptions, Resource, Rule, Token,
            TokenRequest, accounts_client::AccountsClient, auth_client::AuthClient, rules_client::RulesClient,
        },
        config::{GetRequest, SetRequest, Value, config_client::ConfigClient},
        debug::{HealthRequest, debug_client::DebugClient},
        store::{ReadOptions, ReadRequest, Record, WriteOptions, WriteRequest, store_client::StoreClient},
    },
};
use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};

/// `message` with `authorization: Bearer <token>`.
fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {token}")).expect("header value");
    request.metadata_mut().insert("authorization", value);
    request
}

fn options(namespace: &str) -> Option<AuthOptions> {
    Some(AuthOptions { namespace: namespace.into() })
}

/// Asserts `status` is the Micro error `{id, code, detail}` with gRPC code `grpc`.
#[track_caller]
fn assert_error(status: &Status, grpc: Code, id: &str, code: i32, detail: &str) {
    assert_eq!(status.code(), grpc, "{status:?}");
    let err = MicroError::from_status(status).expect("a Micro error");
    assert_eq!((err.id.as_str(), err.code, err.detail.as_str()), (id, code, detail), "{status:?}");
}

async fn token(channel: &Channel, id: &str, secret: &str, namespace: &str, expiry: i64) -> Result<Token, Status> {
    let request = TokenRequest {
        id: id.into(),
        secret: secret.into(),
        token_expiry: expiry,
        options: options(namespace),
        ..Default::default()
    };
    Ok(AuthClient::new(channel.clone()).token(request).await?.into_inner().token.expect("token"))
}

async fn admin_token(channel: &Channel) -> String {
    token(channel, "admin", "micro", "", 0).await.expect("admin token").access_token
}

fn write_request(database: &str, key: &str) -> WriteRequest {
    WriteRequest {
        record: Some(Record { key: key.into(), value: b"v".to_vec(), ..Default::default() }),
        options: Some(WriteOptions { database: database.into(), table: String::new() }),
    }
}

fn read_request(database: &str, key: &str) -> ReadRequest {
    ReadRequest { key: key.into(), options: Some(ReadOptions { database: database.into(), ..Default::default() }) }
}

fn rule(id: &str, scope: &str, name: &str, endpoint: &str, access: Access, priority: i32) -> Rule {
    Rule {
        id: id.into(),
        scope: scope.into(),
        resource: Some(Resource { name: name.into(), r#type: "service".into(), endpoint: endpoint.into() }),
        access: access as i32,
        priority,
    }
}

#[tokio::test]
async fn tokens_accounts_and_rules_without_enforcement() {
    let server = Running::start(false).await;
    let channel = server.channel().await;
    let mut auth = AuthClient::new(channel.clone());
    let mut accounts = AccountsClient::new(channel.clone());
    let mut rules = RulesClient::new(channel.clone());

    // The default admin account, made on the first Token call.
    let tok = token(&channel, "admin", "micro", "", 3600).await.expect("token");
    assert_eq!(tok.access_token.split('.').count(), 3, "a JWT");
    assert_eq!(tok.expiry - tok.created, 3600);
    assert!(!tok.refresh_token.is_empty());
    let default = token(&channel, "admin", "micro", "micro", 0).await.expect("token");
    assert_eq!(default.expiry - default.created, 15 * 60, "Micro's default expiry");
    assert_eq!(default.refresh_token, tok.refresh_token, "one refresh token per account");

    let inspected = auth.inspect(InspectRequest { token: tok.access_token.clone(), options: None }).await.unwrap();
    let account = inspected.into_inner().account.unwrap();
    assert_eq!(
        account,
        Account {
            id: "admin".into(),
            r#type: "user".into(),
            scopes: vec!["admin".into()],
            issuer: "micro".into(),
            name: "admin".into(),
            ..Default::default()
        }
    );

    // Bad secrets, missing credentials, unknown accounts, bad tokens.
    let err = token(&channel, "admin", "wrong", "", 0).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Token", 400, "Secret not correct");
    let err = token(&channel, "admin", "", "", 0).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Token", 400, "Credentials or a refresh token required");
    let err = token(&channel, "nobody", "x", "", 0).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Token", 400, "Account not found with this ID");
    let err = auth.inspect(InspectRequest { token: "a.b.c".into(), options: None }).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Inspect", 400, "invalid token provided");
    let mut tampered = tok.access_token.clone();
    tampered.push('x');
    let err = auth.inspect(InspectRequest { token: tampered, options: None }).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Inspect", 400, "invalid token provided");
    let expired = token(&channel, "admin", "micro", "", -10).await.expect("expired token");
    let err = auth.inspect(InspectRequest { token: expired.access_token, options: None }).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Inspect", 400, "invalid token provided");

    // Refresh.
    let refresh = TokenRequest { refresh_token: tok.refresh_token.clone(), token_expiry: 60, ..Default::default() };
    let refreshed = auth.token(refresh).await.unwrap().into_inner().token.unwrap();
    assert_eq!(refreshed.expiry - refreshed.created, 60);
    assert_eq!(refreshed.refresh_token, tok.refresh_token);
    let bad_refresh = TokenRequest { refresh_token: "nope".into(), ..Default::default() };
    let err = auth.token(bad_refresh).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Token", 400, "invalid token provided");

    // Generate, in another namespace, with a random secret.
    let generated = auth
        .generate(GenerateRequest {
            id: "svc".into(),
            scopes: vec!["service".into()],
            r#type: "service".into(),
            metadata: [("k".to_owned(), "v".to_owned())].into(),
            options: options("team"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(generated.issuer, "team");
    assert_eq!(generated.name, "svc");
    assert_eq!(generated.secret.len(), 36, "a random UUID secret: {}", generated.secret);
    let svc = token(&channel, "svc", &generated.secret, "team", 0).await.expect("svc token");
    let inspected = auth.inspect(InspectRequest { token: svc.access_token, options: None }).await.unwrap();
    let inspected = inspected.into_inner().account.unwrap();
    assert_eq!((inspected.issuer.as_str(), inspected.r#type.as_str()), ("team", "service"));
    assert_eq!(inspected.metadata.get("k").map(String::as_str), Some("v"));
    let err = token(&channel, "svc", &generated.secret, "", 0).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Token", 400, "Account not found with this ID");
    let dup = GenerateRequest { id: "svc".into(), options: options("team"), ..Default::default() };
    let err = auth.generate(dup).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Generate", 400, "Account with this ID already exists");
    let err = auth.generate(GenerateRequest::default()).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Auth.Generate", 400, "ID required");

    // A login name.
    let named = GenerateRequest { id: "u-1".into(), name: "jo".into(), secret: "pw".into(), ..Default::default() };
    auth.generate(named).await.unwrap();
    token(&channel, "jo", "pw", "", 0).await.expect("login by name");

    // Accounts.
    let listed = accounts.list(ListAccountsRequest { options: None }).await.unwrap().into_inner().accounts;
    let ids: Vec<&str> = listed.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["admin", "u-1"]);
    assert!(listed.iter().all(|a| a.secret.is_empty()));
    let change =
        ChangeSecretRequest { id: "jo".into(), old_secret: "bad".into(), new_secret: "pw2".into(), options: None };
    let err = accounts.change_secret(change).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Accounts.ChangeSecret", 400, "Secret not correct");
    let change =
        ChangeSecretRequest { id: "jo".into(), old_secret: "pw".into(), new_secret: "pw2".into(), options: None };
    accounts.change_secret(change).await.unwrap();
    assert!(token(&channel, "jo", "pw", "", 0).await.is_err());
    token(&channel, "jo", "pw2", "", 0).await.expect("new secret");
    accounts.delete(DeleteAccountRequest { id: "u-1".into(), options: None }).await.unwrap();
    let err = accounts.delete(DeleteAccountRequest { id: "u-1".into(), options: None }).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Accounts.Delete", 400, "Account not found with this ID");

    // Rules: the default rule, create, duplicates, delete.
    let listed = rules.list(ListRequest { options: None }).await.unwrap().into_inner().rules;
    let default = Rule {
        id: "default".into(),
        resource: Some(Resource { name: "*".into(), r#type: "*".into(), endpoint: "*".into() }),
        access: Access::Granted as i32,
        ..Default::default()
    };
    assert_eq!(listed, [default]);
    let create = CreateRequest { rule: Some(rule("r1", "admin", "store", "*", Access::Denied, 5)), options: None };
    rules.create(create.clone()).await.unwrap();
    let err = rules.create(create).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Rules.Create", 400, "A rule with this ID already exists");
    let no_access = CreateRequest { rule: Some(rule("r2", "", "x", "*", Access::Unknown, 0)), options: None };
    let err = rules.create(no_access).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Rules.Create", 400, "Access missing");
    let ids: Vec<String> =
        rules.list(ListRequest { options: None }).await.unwrap().into_inner().rules.into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["default", "r1"]);
    rules.delete(DeleteRequest { id: "r1".into(), options: None }).await.unwrap();
    let err = rules.delete(DeleteRequest { id: "r1".into(), options: None }).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Rules.Delete", 400, "Rule not found");

    // Nothing is enforced: the store takes calls without a token, and any bearer token.
    StoreClient::new(channel.clone()).write(write_request("any", "k")).await.expect("open store");
    StoreClient::new(channel.clone()).write(bearer(write_request("any", "k"), "junk")).await.expect("any token");
    server.stop().await;
}

#[tokio::test]
async fn enforcement_checks_tokens_rules_and_namespaces() {
    let server = Running::start_with(Options { auth: true, ..Options::default() }).await;
    let channel = server.channel().await;
    let mut auth = AuthClient::new(channel.clone());
    let mut store = StoreClient::new(channel.clone());
    let mut config = ConfigClient::new(channel.clone());
    let mut rules = RulesClient::new(channel.clone());

    // Public by Micro's default rule: Token, Health; data needs an account.
    let admin = admin_token(&channel).await;
    DebugClient::new(channel.clone()).health(HealthRequest::default()).await.expect("health is public");
    let err = store.write(write_request("", "k")).await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "store.Store.Write", 401, "an account is required");
    store.write(bearer(write_request("", "k"), &admin)).await.expect("admin writes");
    store.read(bearer(read_request("", "k"), &admin)).await.expect("admin reads");

    // Invalid and expired tokens.
    let err = store.read(bearer(read_request("", "k"), "not-a-token")).await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "store", 401, "invalid token provided");
    let expired = token(&channel, "admin", "micro", "", -10).await.unwrap().access_token;
    let err = store.read(bearer(read_request("", "k"), &expired)).await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "store", 401, "invalid token provided");
    // A stale token does not stop a refresh.
    let refresh = TokenRequest { id: "admin".into(), secret: "micro".into(), ..Default::default() };
    auth.token(bearer(refresh, &expired)).await.expect("refresh with a stale token");
    // Generate needs an admin.
    let gen_req = GenerateRequest { id: "x".into(), ..Default::default() };
    let err = auth.generate(gen_req).await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "auth.Auth.Generate", 401, "an account is required");

    // Namespace isolation: an admin of "a" owns store database "a" and config namespace "a" only.
    let generate = GenerateRequest {
        id: "alice".into(),
        secret: "pw".into(),
        scopes: vec!["admin".into()],
        options: options("a"),
        ..Default::default()
    };
    auth.generate(bearer(generate, &admin)).await.expect("micro admin generates in a");
    let alice = token(&channel, "alice", "pw", "a", 0).await.unwrap().access_token;
    store.write(bearer(write_request("a", "k"), &alice)).await.expect("own database");
    let err = store.write(bearer(write_request("b", "k"), &alice)).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "store.Store.Write", 403, "access denied to namespace");
    let err = store.read(bearer(read_request("", "k"), &alice)).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "store.Store.Read", 403, "access denied to namespace");
    let set = |ns: &str| SetRequest {
        namespace: ns.into(),
        path: "x".into(),
        value: Some(Value { data: "1".into(), format: "json".into() }),
        options: None,
    };
    config.set(bearer(set("a"), &alice)).await.expect("own config");
    let err = config.set(bearer(set("b"), &alice)).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "config.Config.Set", 403, "access denied to namespace");
    let get = GetRequest { namespace: "a".into(), path: "x".into(), options: None };
    config.get(bearer(get, &admin)).await.expect("micro admin reads any namespace");
    let gen_b = GenerateRequest { id: "y".into(), options: options("b"), ..Default::default() };
    let err = auth.generate(bearer(gen_b, &alice)).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "auth.Auth.Generate", 403, "access denied to namespace");
    // A non-admin account of "a" may not touch its data either (AuthorizeAdmin).
    let bob = GenerateRequest { id: "bob".into(), secret: "pw".into(), options: options("a"), ..Default::default() };
    auth.generate(bearer(bob, &alice)).await.expect("admin of a generates in a");
    let bob = token(&channel, "bob", "pw", "a", 0).await.unwrap().access_token;
    let err = store.read(bearer(read_request("a", "k"), &bob)).await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "store.Store.Read", 401, "Unauthorized");

    // Rules: deny the public everything in store, above the default grant.
    let deny = CreateRequest { rule: Some(rule("no-store", "", "store", "*", Access::Denied, 10)), options: None };
    let err = rules.create(deny.clone()).await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "auth.Rules.Create", 401, "an account is required");
    rules.create(bearer(deny, &admin)).await.expect("admin creates a rule");
    let err = store.read(read_request("", "k")).await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "store", 401, "Unauthorized call made to store:Store.Read");
    let err = store.read(bearer(read_request("", "k"), &admin)).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "store", 403, "Forbidden call made to store:Store.Read by admin");
    // A higher priority grant for admins lets them back in; others stay out.
    let grant = CreateRequest { rule: Some(rule("admins", "admin", "store", "*", Access::Granted, 20)), options: None };
    rules.create(bearer(grant, &admin)).await.unwrap();
    store.read(bearer(read_request("", "k"), &admin)).await.expect("granted to admins");
    let err = store.read(read_request("", "k")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    // Accounts of another namespace calling with micro's rules are forbidden by scoped rules.
    let mut req = bearer(read_request("a", "k"), &alice);
    req.metadata_mut().insert("micro-namespace", MetadataValue::from_static("micro"));
    let err = store.read(req).await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "store", 403, "Forbidden call made to store:Store.Read by alice");
    // Alice's own namespace still has only the default rule.
    store.read(bearer(read_request("a", "k"), &alice)).await.expect("namespace a's rules");
    rules.delete(bearer(DeleteRequest { id: "no-store".into(), options: None }, &admin)).await.unwrap();
    let err = store.read(read_request("", "k")).await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "store.Store.Read", 401, "an account is required");

    // Accounts: only admins list; nobody deletes themselves.
    let mut accounts = AccountsClient::new(channel.clone());
    let err = accounts.list(ListAccountsRequest { options: None }).await.unwrap_err();
    assert_error(&err, Code::Unauthenticated, "auth.Accounts.List", 401, "an account is required");
    let listed = accounts.list(bearer(ListAccountsRequest { options: options("a") }, &admin)).await.unwrap();
    let ids: Vec<String> = listed.into_inner().accounts.into_iter().map(|a| a.id).collect();
    assert_eq!(ids, ["alice", "bob"]);
    let own = DeleteAccountRequest { id: "admin".into(), options: None };
    let err = accounts.delete(bearer(own, &admin)).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "auth.Accounts.Delete", 400, "Can't delete your own account");
    // A micro admin changes secrets without the old one.
    let change =
        ChangeSecretRequest { id: "bob".into(), new_secret: "new".into(), options: options("a"), ..Default::default() };
    accounts.change_secret(bearer(change, &admin)).await.expect("admin resets a secret");
    token(&channel, "bob", "new", "a", 0).await.expect("the new secret");
    server.stop().await;
}

#[tokio::test]
async fn tokens_accounts_and_rules_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = || Options { auth: true, data_dir: Some(dir.path().to_owned()), ..Options::default() };
    let server = Running::start_with(opts()).await;
    let channel = server.channel().await;
    let admin = token(&channel, "admin", "micro", "", 3600).await.unwrap();
    let generate = GenerateRequest { id: "kept".into(), secret: "pw".into(), ..Default::default() };
    AuthClient::new(channel.clone()).generate(bearer(generate, &admin.access_token)).await.unwrap();
    let create = CreateRequest { rule: Some(rule("kept-rule", "*", "config", "*", Access::Granted, 1)), options: None };
    RulesClient::new(channel.clone()).create(bearer(create, &admin.access_token)).await.unwrap();
    drop(channel);
    server.stop().await;

    let server = Running::start_with(opts()).await;
    let channel = server.channel().await;
    let inspect = InspectRequest { token: admin.access_token.clone(), options: None };
    let account = AuthClient::new(channel.clone()).inspect(inspect).await.expect("token still valid").into_inner();
    assert_eq!(account.account.unwrap().id, "admin");
    StoreClient::new(channel.clone()).write(bearer(write_request("", "k"), &admin.access_token)).await.unwrap();
    token(&channel, "kept", "pw", "", 0).await.expect("account kept");
    let refresh = TokenRequest { refresh_token: admin.refresh_token.clone(), ..Default::default() };
    AuthClient::new(channel.clone()).token(refresh).await.expect("refresh token kept");
    let listed =
        RulesClient::new(channel.clone()).list(bearer(ListRequest { options: None }, &admin.access_token)).await;
    let ids: Vec<String> = listed.unwrap().into_inner().rules.into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["default", "kept-rule"]);
    server.stop().await;
}
