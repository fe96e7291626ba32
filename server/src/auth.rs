//! `auth.Auth`, `auth.Accounts` and `auth.Rules`: accounts, signed tokens and access rules, as
//! Micro v3's auth service (service/auth/handler) over its JWT token provider; and the checks
//! that `--auth` adds to every call (spec B1).
//!
//! # Tokens
//!
//! Access tokens are JWTs signed with HS256 under a random 32-byte key, made when a server
//! first starts and kept in the `--data` database (table `auth.key`), so a restart with the same
//! directory keeps issued tokens valid. The claims are Micro's: `sub` (account id), `iss`
//! (namespace), `exp` (unix seconds), `type`, `scopes`, `metadata`, `name`. A token lives
//! `token_expiry` seconds (0 → Micro's default of 15 minutes; a negative value issues an
//! already expired token); expiry is checked to the second, without leeway.
//!
//! Every account has one refresh token (32 random bytes, hex), made with the account and
//! returned by every `Token` call; `Token{refresh_token}` exchanges it for a new access token.
//! As Micro, `Token` also accepts a still valid access token as `secret` or `refresh_token`
//! and then returns a fresh access token whose refresh token is the new access token itself.
//!
//! # Accounts
//!
//! Accounts live per namespace (their `issuer`, default `micro`), keyed by id, and can be named
//! by id or by `name` (default: the id). Secrets are stored as argon2id hashes (PHC strings)
//! with deliberately modest parameters, [`ARGON2_M_COST_KIB`] KiB of memory and
//! [`ARGON2_T_COST`] passes, so that debug builds of the tests stay fast: this is a reference
//! server, not a vault. The first `Token` (or `Accounts.List`) in namespace `micro` that finds
//! no `user` account there creates Micro's default account: id `admin`, secret `micro`, type
//! `user`, scopes `[admin]`. Accounts and rules are persisted with `--data` (tables
//! `auth.accounts`, `auth.rules`, JSON values).
//!
//! # Rules
//!
//! A namespace's rules decide who may call what (Micro's `rules.VerifyAccess`): the rules whose
//! resource matches the call (`type`, `name` and `endpoint` equal, case-insensitively, or `*`;
//! an endpoint `a/*` also matches `a/b…`) are taken by descending priority (ties keep id
//! order); the first that applies decides. Scope `""` (public) applies to everyone, even
//! without an account; otherwise an account is needed, and one issued by another namespace is
//! forbidden unless the scope is `+`; scope `*` applies to any account, any other scope to
//! accounts holding it. No applicable rule forbids. When a namespace has no rules, Micro's
//! default rule is created there on first use: id `default`, public, `GRANTED` on `*:*:*` —
//! so everything is public until an admin adds rules, and data is protected by the namespace
//! checks below instead.
//!
//! # Enforcement (`--auth` only)
//!
//! For every call the middleware (crate::middleware) asks [`AuthState::check_call`], which
//! acts as Micro's proxy: a bearer token must be a valid, unexpired token of this server (else
//! 401 `invalid token provided`, id = the called package; except on `auth.Auth/Token`, where a
//! stale token is ignored so a client can still refresh); the call's namespace is the
//! `micro-namespace` header, else the account's issuer, else `micro`; the resource
//! `{type: "service", name: <proto package>, endpoint: <Service.Method>}` is verified against
//! that namespace's rules: forbidden with an account → 403 `Forbidden call made to
//! <package>:<Service.Method> by <id>`, without → 401 `Unauthorized call made to
//! <package>:<Service.Method>`. The verified account and namespace reach handlers as a
//! [`Caller`] request extension, and handlers of namespaced data call [`authorize_namespace`]
//! (Micro's `AuthorizeAdmin`). Without `--auth` nothing is enforced: every call is allowed
//! and `authorize_namespace` is a no-op, as with Micro's noop auth.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    sync::{Arc, Mutex, MutexGuard},
};

use argon2::{Argon2, PasswordHash, PasswordHasher as _, PasswordVerifier as _, password_hash::SaltString};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::{Request, Response, Status};

use crate::{
    error::MicroError,
    pb::auth::{
        Access, Account, ChangeSecretRequest, ChangeSecretResponse, CreateRequest, CreateResponse,
        DeleteAccountRequest, DeleteAccountResponse, DeleteRequest, DeleteResponse, GenerateRequest, GenerateResponse,
        InspectRequest, InspectResponse, ListAccountsRequest, ListAccountsResponse, ListRequest, ListResponse,
        Resource, Rule, Token, TokenRequest, TokenResponse, accounts_server::Accounts, auth_server::Auth,
        rules_server::Rules,
    },
    shared::{DEFAULT_NAMESPACE, Shared, namespace_or_default},
};

/// Lifetime of an access token whose request asks for 0 seconds (Micro's default): 15 minutes.
const DEFAULT_EXPIRY_SECS: i64 = 15 * 60;
/// Memory cost of a secret hash, KiB (argon2id).
pub(crate) const ARGON2_M_COST_KIB: u32 = 1024;
/// Time cost (passes) of a secret hash (argon2id).
pub(crate) const ARGON2_T_COST: u32 = 1;
/// Persistence table of the signing key (one row, key `hs256`).
const KEY_TABLE: &str = "auth.key";
/// Persistence table of the accounts: `issuer NUL id` → [`StoredAccount`] JSON.
const ACCOUNTS_TABLE: &str = "auth.accounts";
/// Persistence table of the rules: `namespace NUL id` → [`StoredRule`] JSON.
const RULES_TABLE: &str = "auth.rules";
/// Micro's `token.ErrInvalidToken` text.
const INVALID_TOKEN: &str = "invalid token provided";

/// Who is calling, as the middleware established it; a request extension on every call.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Caller {
    /// The account of the verified bearer token (secret empty), if a valid one was sent.
    pub(crate) account: Option<Account>,
    /// The call's namespace: the `micro-namespace` header, else the account's issuer, else
    /// `micro`.
    pub(crate) namespace: String,
}

/// Micro's `AuthorizeAdmin` for handlers of namespaced data (spec B1 "Per-service namespace
/// rules"): with `--auth`, the caller must have an account (else 401 `an account is required`),
/// issued by `namespace` (else 403 `access denied to namespace`) unless it is a `micro`
/// admin (`user` with scope `admin`) or service (`service` with scope `service`), which may
/// access any namespace; and it must itself be such an admin or service (else 401
/// `Unauthorized`). `namespace` empty means `micro`; `id` is the Micro error id (e.g.
/// `store.Store.Read`). Without `--auth` always `Ok`.
///
/// # Errors
///
/// The Micro error described above, as a [`Status`].
pub(crate) fn authorize_namespace(
    extensions: &http::Extensions,
    shared: &Shared,
    namespace: &str,
    id: &str,
) -> Result<(), Status> {
    if !shared.auth {
        return Ok(());
    }
    let account = extensions.get::<Caller>().and_then(|caller| caller.account.as_ref());
    authorize_admin(account, namespace, id).map_err(Status::from)
}

/// Whether `account` has type `kind` and holds `scope`.
fn has_type_and_scope(account: &Account, kind: &str, scope: &str) -> bool {
    account.r#type == kind && account.scopes.iter().any(|s| s == scope)
}

/// Micro's `namespace.Authorize`: may `account` access `namespace` at all.
fn authorize(account: Option<&Account>, namespace: &str, id: &str) -> Result<(), MicroError> {
    let namespace = namespace_or_default(namespace);
    let Some(account) = account else {
        return Err(MicroError::unauthorized(id, "an account is required"));
    };
    if account.issuer == DEFAULT_NAMESPACE
        && (has_type_and_scope(account, "service", "service") || has_type_and_scope(account, "user", "admin"))
    {
        return Ok(());
    }
    if account.issuer != namespace || (account.r#type != "user" && account.r#type != "service") {
        return Err(MicroError::forbidden(id, "access denied to namespace"));
    }
    Ok(())
}

/// Micro's `namespace.AuthorizeAdmin`: [`authorize`], and the account is an admin or service.
fn authorize_admin(account: Option<&Account>, namespace: &str, id: &str) -> Result<(), MicroError> {
    authorize(account, namespace, id)?;
    match account {
        Some(a) if has_type_and_scope(a, "user", "admin") || has_type_and_scope(a, "service", "service") => Ok(()),
        _ => Err(MicroError::unauthorized(id, "Unauthorized")),
    }
}

/// An account as persisted (the secret as an argon2id PHC hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAccount {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    scopes: Vec<String>,
    metadata: BTreeMap<String, String>,
    issuer: String,
    secret_hash: String,
    refresh_token: String,
}

impl StoredAccount {
    /// The account as the API shows it: without its secret.
    fn to_account(&self) -> Account {
        Account {
            id: self.id.clone(),
            r#type: self.kind.clone(),
            metadata: self.metadata.clone().into_iter().collect(),
            scopes: self.scopes.clone(),
            issuer: self.issuer.clone(),
            secret: String::new(),
            name: self.name.clone(),
        }
    }
}

/// A rule as persisted.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredRule {
    id: String,
    scope: String,
    resource_type: String,
    resource_name: String,
    resource_endpoint: String,
    /// [`Access`] as its number.
    access: i32,
    priority: i32,
}

impl StoredRule {
    fn from_rule(rule: &Rule) -> Self {
        let resource = rule.resource.clone().unwrap_or_default();
        Self {
            id: rule.id.clone(),
            scope: rule.scope.clone(),
            resource_type: resource.r#type,
            resource_name: resource.name,
            resource_endpoint: resource.endpoint,
            access: rule.access,
            priority: rule.priority,
        }
    }

    fn to_rule(&self) -> Rule {
        Rule {
            id: self.id.clone(),
            scope: self.scope.clone(),
            resource: Some(Resource {
                name: self.resource_name.clone(),
                r#type: self.resource_type.clone(),
                endpoint: self.resource_endpoint.clone(),
            }),
            access: self.access,
            priority: self.priority,
        }
    }

    /// Micro's default rule: everything public.
    fn default_rule() -> Self {
        Self {
            id: "default".to_owned(),
            scope: String::new(),
            resource_type: "*".to_owned(),
            resource_name: "*".to_owned(),
            resource_endpoint: "*".to_owned(),
            access: Access::Granted as i32,
            priority: 0,
        }
    }
}

/// The JWT claims, as Micro's JWT token provider writes them.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    exp: i64,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    name: String,
}

/// Mutable state: accounts and rules by `(namespace, id)`.
#[derive(Debug, Default)]
struct Inner {
    accounts: BTreeMap<(String, String), StoredAccount>,
    rules: BTreeMap<(String, String), StoredRule>,
    /// Namespaces whose rules were already checked for the default rule (Micro's cache; a
    /// rule deletion clears the namespace, so removing every rule brings the default back).
    rules_seeded: BTreeSet<String>,
}

/// The auth service's state, shared by its three gRPC services and the middleware.
pub(crate) struct AuthState {
    shared: Shared,
    encoding: EncodingKey,
    decoding: DecodingKey,
    inner: Mutex<Inner>,
}

impl fmt::Debug for AuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthState").field("enforce", &self.shared.auth).finish_non_exhaustive()
    }
}

/// Persistence key `a NUL b`.
fn persist_key(a: &str, b: &str) -> Vec<u8> {
    [a.as_bytes(), b"\0", b.as_bytes()].concat()
}

/// `n` random bytes from the operating system.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS random source failing is not recoverable for a server that signs tokens.
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random UUID (version 4) in its usual text form: Micro's generated secrets.
fn random_uuid() -> String {
    let mut b: [u8; 16] = random_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The argon2id hasher with this server's parameters.
fn argon2() -> Argon2<'static> {
    let params = argon2::Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, 1, None).expect("valid argon2 parameters");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// The argon2id PHC hash of `secret`, or a Micro 500 with `id`.
fn hash_secret(secret: &str, id: &str) -> Result<String, MicroError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| MicroError::internal_server_error(id, format!("Unable to hash password: {e}")))?;
    argon2()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| MicroError::internal_server_error(id, format!("Unable to hash password: {e}")))
}

/// Whether `secret` matches the PHC `hash`.
fn secrets_match(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| argon2().verify_password(secret.as_bytes(), &parsed).is_ok())
}

/// The current time in unix seconds.
fn now_secs() -> i64 {
    i64::try_from(crate::shared::unix_now_ms() / 1000).unwrap_or(i64::MAX)
}

/// Micro's `include`: case-insensitive membership.
fn include<S: AsRef<str>>(values: &[S], value: &str) -> bool {
    values.iter().any(|v| v.as_ref().eq_ignore_ascii_case(value))
}

/// Micro's `rules.VerifyAccess`: whether `account` may call `resource` under `rules` of
/// `namespace` (see the [module documentation](self)).
fn verify_access(rules: &[StoredRule], account: Option<&Account>, resource: &Resource, namespace: &str) -> bool {
    let types = ["*", resource.r#type.as_str()];
    let names = ["*", resource.name.as_str()];
    let mut endpoints = vec!["*".to_owned(), resource.endpoint.clone()];
    let comps: Vec<&str> = resource.endpoint.split('/').collect();
    if comps.len() > 1 {
        for i in 1..=comps.len() {
            endpoints.push(format!("{}/*", comps[..i].join("/")));
        }
    }
    let mut matching: Vec<&StoredRule> = rules
        .iter()
        .filter(|r| {
            include(&types, &r.resource_type)
                && include(&names, &r.resource_name)
                && include(&endpoints, &r.resource_endpoint)
        })
        .collect();
    // Stable: equal priorities keep their (id) order.
    matching.sort_by_key(|rule| std::cmp::Reverse(rule.priority));
    let granted = |rule: &StoredRule| rule.access == Access::Granted as i32;
    for rule in matching {
        if rule.scope.is_empty() {
            return granted(rule);
        }
        let Some(account) = account else { continue };
        if rule.scope != "+" && account.issuer != namespace {
            return false;
        }
        if rule.scope == "*" || rule.scope == "+" || account.scopes.iter().any(|s| s == &rule.scope) {
            return granted(rule);
        }
    }
    false
}

impl AuthState {
    /// The state with the key, accounts and rules of an earlier run (`--data`), or a new key.
    pub(crate) fn new(shared: &Shared) -> Arc<Self> {
        let persist = &shared.persist;
        let key = match persist.load(KEY_TABLE).into_iter().find(|(k, _)| k == b"hs256") {
            Some((_, key)) if key.len() == 32 => key,
            _ => {
                let key: [u8; 32] = random_bytes();
                // Without a durable key, tokens just do not survive a restart.
                let _ = persist.put(KEY_TABLE, b"hs256", &key);
                key.to_vec()
            }
        };
        let mut inner = Inner::default();
        for (_, value) in persist.load(ACCOUNTS_TABLE) {
            if let Ok(account) = serde_json::from_slice::<StoredAccount>(&value) {
                inner.accounts.insert((account.issuer.clone(), account.id.clone()), account);
            }
        }
        for (key, value) in persist.load(RULES_TABLE) {
            let Some(at) = key.iter().position(|&b| b == 0) else { continue };
            let namespace = String::from_utf8_lossy(&key[..at]).into_owned();
            if let Ok(rule) = serde_json::from_slice::<StoredRule>(&value) {
                inner.rules.insert((namespace, rule.id.clone()), rule);
            }
        }
        Arc::new(Self {
            shared: shared.clone(),
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The account of a valid, unexpired access token of this server.
    fn inspect(&self, token: &str) -> Option<Account> {
        if token.split('.').count() != 3 {
            return None;
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok()?.claims;
        let name = if claims.name.is_empty() { claims.sub.clone() } else { claims.name };
        Some(Account {
            id: claims.sub,
            r#type: claims.kind,
            metadata: claims.metadata.into_iter().collect(),
            scopes: claims.scopes,
            issuer: claims.iss,
            secret: String::new(),
            name,
        })
    }

    /// A new access token for `account`, living `expiry_secs` (0 → 15 minutes).
    fn generate(&self, account: &Account, expiry_secs: i64, id: &str) -> Result<(String, i64, i64), MicroError> {
        let created = now_secs();
        let lifetime = if expiry_secs == 0 { DEFAULT_EXPIRY_SECS } else { expiry_secs };
        let expiry = created.saturating_add(lifetime);
        let claims = Claims {
            sub: account.id.clone(),
            iss: account.issuer.clone(),
            exp: expiry,
            kind: account.r#type.clone(),
            scopes: account.scopes.clone(),
            metadata: account.metadata.clone().into_iter().collect(),
            name: if account.name.is_empty() { account.id.clone() } else { account.name.clone() },
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| MicroError::internal_server_error(id, format!("Unable to generate token: {e}")))?;
        Ok((token, created, expiry))
    }

    /// The account `id_or_name` of `namespace` (by id, then by name).
    fn find_account<'a>(inner: &'a Inner, namespace: &str, id_or_name: &str) -> Option<&'a StoredAccount> {
        inner
            .accounts
            .get(&(namespace.to_owned(), id_or_name.to_owned()))
            .or_else(|| inner.accounts.values().find(|a| a.issuer == namespace && a.name == id_or_name))
    }

    /// Adds `account` (its secret already hashed), or 400 when its id or name is taken.
    fn insert_account(&self, inner: &mut Inner, account: StoredAccount, id: &str) -> Result<(), MicroError> {
        let key = (account.issuer.clone(), account.id.clone());
        if inner.accounts.contains_key(&key) {
            return Err(MicroError::bad_request(id, "Account with this ID already exists"));
        }
        if inner.accounts.values().any(|a| a.issuer == account.issuer && a.name == account.name) {
            return Err(MicroError::bad_request(id, "Account with this Name already exists"));
        }
        self.persist_account(&account, id)?;
        inner.accounts.insert(key, account);
        Ok(())
    }

    fn persist_account(&self, account: &StoredAccount, id: &str) -> Result<(), MicroError> {
        let value = serde_json::to_vec(account)
            .map_err(|e| MicroError::internal_server_error(id, format!("Unable to marshal json: {e}")))?;
        self.shared
            .persist
            .put(ACCOUNTS_TABLE, &persist_key(&account.issuer, &account.id), &value)
            .map_err(|status| status_to_micro(&status, id))
    }

    /// Micro's `setupDefaultAccount`: in namespace `micro`, creates `admin`/`micro` when the
    /// namespace has no `user` account.
    fn setup_default_account(&self, namespace: &str) -> Result<(), MicroError> {
        if namespace != DEFAULT_NAMESPACE {
            return Ok(());
        }
        let has_user = |inner: &Inner| inner.accounts.values().any(|a| a.issuer == namespace && a.kind == "user");
        if has_user(&self.lock()) {
            return Ok(());
        }
        let secret_hash = hash_secret("micro", "auth.Auth.Token")?;
        let mut inner = self.lock();
        if has_user(&inner) {
            return Ok(());
        }
        let account = StoredAccount {
            id: "admin".to_owned(),
            name: "admin".to_owned(),
            kind: "user".to_owned(),
            scopes: vec!["admin".to_owned()],
            metadata: BTreeMap::new(),
            issuer: DEFAULT_NAMESPACE.to_owned(),
            secret_hash,
            refresh_token: hex(&random_bytes::<32>()),
        };
        self.insert_account(&mut inner, account, "auth.Auth.Token")
    }

    /// The rules of `namespace`, creating Micro's default rule when it has none.
    fn rules_of(&self, inner: &mut Inner, namespace: &str) -> Vec<StoredRule> {
        if !inner.rules_seeded.contains(namespace) {
            let has_rules = inner.rules.keys().any(|(ns, _)| ns == namespace);
            if !has_rules {
                let rule = StoredRule::default_rule();
                let stored = serde_json::to_vec(&rule)
                    .ok()
                    .map(|value| self.shared.persist.put(RULES_TABLE, &persist_key(namespace, &rule.id), &value));
                if matches!(stored, Some(Ok(()))) {
                    inner.rules.insert((namespace.to_owned(), rule.id.clone()), rule);
                }
            }
            inner.rules_seeded.insert(namespace.to_owned());
        }
        inner.rules.iter().filter(|((ns, _), _)| ns == namespace).map(|(_, rule)| rule.clone()).collect()
    }

    /// The middleware's check of one call to `path` (`/package.Service/Method`) with the
    /// bearer `token` (if any) and `micro-namespace` header (if any): see the
    /// [module documentation](self). Without `--auth` it only identifies the caller.
    ///
    /// # Errors
    ///
    /// With `--auth`: 401 for an invalid or expired token, 401/403 when the rules forbid the
    /// call; ids are the called proto package.
    pub(crate) fn check_call(
        &self,
        path: &str,
        token: Option<&str>,
        namespace_header: Option<&str>,
    ) -> Result<Caller, MicroError> {
        let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
        let (package, service_name) = service.rsplit_once('.').unwrap_or(("", service));
        let token = token.filter(|t| !t.is_empty());
        let account = token.and_then(|t| self.inspect(t));
        if self.shared.auth && token.is_some() && account.is_none() && path != "/auth.Auth/Token" {
            return Err(MicroError::unauthorized(package, INVALID_TOKEN));
        }
        let namespace = match namespace_header.filter(|ns| !ns.is_empty()) {
            Some(ns) => ns.to_owned(),
            None => account.as_ref().map_or_else(|| DEFAULT_NAMESPACE.to_owned(), |a| a.issuer.clone()),
        };
        let caller = Caller { account, namespace };
        if !self.shared.auth || method.is_empty() || package.is_empty() {
            return Ok(caller);
        }
        let endpoint = format!("{service_name}.{method}");
        let resource = Resource { name: package.to_owned(), r#type: "service".to_owned(), endpoint: endpoint.clone() };
        let rules = self.rules_of(&mut self.lock(), &caller.namespace);
        if verify_access(&rules, caller.account.as_ref(), &resource, &caller.namespace) {
            return Ok(caller);
        }
        Err(match &caller.account {
            Some(account) => {
                MicroError::forbidden(package, format!("Forbidden call made to {package}:{endpoint} by {}", account.id))
            }
            None => MicroError::unauthorized(package, format!("Unauthorized call made to {package}:{endpoint}")),
        })
    }
}

/// A persistence failure (already a Micro 500) re-labelled with `id`.
fn status_to_micro(status: &Status, id: &str) -> MicroError {
    let detail = MicroError::from_status(status).map_or_else(|| status.message().to_owned(), |e| e.detail);
    MicroError::internal_server_error(id, detail)
}

/// The caller's account, if the middleware verified one.
fn caller_account<T>(request: &Request<T>) -> Option<Account> {
    request.extensions().get::<Caller>().and_then(|c| c.account.clone())
}

/// The caller's namespace (the middleware's), `micro` when unknown.
fn caller_namespace<T>(request: &Request<T>) -> String {
    request.extensions().get::<Caller>().map_or_else(|| DEFAULT_NAMESPACE.to_owned(), |c| c.namespace.clone())
}

/// `auth.Auth`.
#[derive(Debug, Clone)]
pub(crate) struct AuthService {
    state: Arc<AuthState>,
}

impl AuthService {
    pub(crate) fn new(state: &Arc<AuthState>) -> Self {
        Self { state: state.clone() }
    }

    /// `AuthorizeAdmin`, enforced only with `--auth`.
    fn admin(&self, account: Option<&Account>, namespace: &str, id: &str) -> Result<(), MicroError> {
        if self.state.shared.auth { authorize_admin(account, namespace, id) } else { Ok(()) }
    }
}

#[tonic::async_trait]
impl Auth for AuthService {
    async fn generate(&self, request: Request<GenerateRequest>) -> Result<Response<GenerateResponse>, Status> {
        const ID: &str = "auth.Auth.Generate";
        let caller = caller_account(&request);
        let default_namespace = caller_namespace(&request);
        let req = request.into_inner();
        if req.id.is_empty() {
            return Err(MicroError::bad_request(ID, "ID required").into());
        }
        let namespace = match req.options.map(|o| o.namespace).filter(|ns| !ns.is_empty()) {
            Some(ns) => ns,
            None => default_namespace,
        };
        self.admin(caller.as_ref(), &namespace, ID)?;
        if self.state.lock().accounts.contains_key(&(namespace.clone(), req.id.clone())) {
            return Err(MicroError::bad_request(ID, "Account with this ID already exists").into());
        }
        let secret = if req.secret.is_empty() { random_uuid() } else { req.secret };
        let account = StoredAccount {
            name: if req.name.is_empty() { req.id.clone() } else { req.name },
            id: req.id,
            kind: if req.r#type.is_empty() { "user".to_owned() } else { req.r#type },
            scopes: req.scopes,
            metadata: req.metadata.into_iter().collect(),
            issuer: namespace,
            secret_hash: hash_secret(&secret, ID)?,
            refresh_token: hex(&random_bytes::<32>()),
        };
        let mut shown = account.to_account();
        shown.secret = secret;
        self.state.insert_account(&mut self.state.lock(), account, ID)?;
        Ok(Response::new(GenerateResponse { account: Some(shown) }))
    }

    async fn inspect(&self, request: Request<InspectRequest>) -> Result<Response<InspectResponse>, Status> {
        let req = request.into_inner();
        let account = self
            .state
            .inspect(&req.token)
            .ok_or_else(|| MicroError::bad_request("auth.Auth.Inspect", INVALID_TOKEN))?;
        Ok(Response::new(InspectResponse { account: Some(account) }))
    }

    async fn token(&self, request: Request<TokenRequest>) -> Result<Response<TokenResponse>, Status> {
        const ID: &str = "auth.Auth.Token";
        let req = request.into_inner();
        let namespace =
            namespace_or_default(&req.options.as_ref().map(|o| o.namespace.clone()).unwrap_or_default()).to_owned();
        self.state.setup_default_account(&namespace)?;
        if (req.id.is_empty() || req.secret.is_empty()) && req.refresh_token.is_empty() {
            return Err(MicroError::bad_request(ID, "Credentials or a refresh token required").into());
        }
        // As Micro's JWT provider: a valid access token given as the secret (or refresh token)
        // is exchanged for a fresh one, which is also its own refresh token.
        let jwt = if req.refresh_token.is_empty() { &req.secret } else { &req.refresh_token };
        if let Some(account) = self.state.inspect(jwt) {
            let (access, created, expiry) = self.state.generate(&account, req.token_expiry, ID)?;
            let token = Token { refresh_token: access.clone(), access_token: access, created, expiry };
            return Ok(Response::new(TokenResponse { token: Some(token) }));
        }
        let stored = {
            let inner = self.state.lock();
            if req.refresh_token.is_empty() {
                AuthState::find_account(&inner, &namespace, &req.id).cloned()
            } else {
                let found = inner
                    .accounts
                    .values()
                    .find(|a| a.issuer == namespace && a.refresh_token == req.refresh_token)
                    .cloned();
                Some(found.ok_or_else(|| MicroError::bad_request(ID, INVALID_TOKEN))?)
            }
        };
        let stored = stored.ok_or_else(|| MicroError::bad_request(ID, "Account not found with this ID"))?;
        if req.refresh_token.is_empty() && !secrets_match(&stored.secret_hash, &req.secret) {
            return Err(MicroError::bad_request(ID, "Secret not correct").into());
        }
        let (access_token, created, expiry) = self.state.generate(&stored.to_account(), req.token_expiry, ID)?;
        let token = Token { access_token, refresh_token: stored.refresh_token.clone(), created, expiry };
        Ok(Response::new(TokenResponse { token: Some(token) }))
    }
}

/// `auth.Accounts`.
#[derive(Debug, Clone)]
pub(crate) struct AccountsService {
    state: Arc<AuthState>,
}

impl AccountsService {
    pub(crate) fn new(state: &Arc<AuthState>) -> Self {
        Self { state: state.clone() }
    }
}

/// The request's `options.namespace`, `micro` when empty.
fn options_namespace(options: Option<&crate::pb::auth::Options>) -> String {
    namespace_or_default(options.map_or("", |o| o.namespace.as_str())).to_owned()
}

#[tonic::async_trait]
impl Accounts for AccountsService {
    async fn list(&self, request: Request<ListAccountsRequest>) -> Result<Response<ListAccountsResponse>, Status> {
        const ID: &str = "auth.Accounts.List";
        let caller = caller_account(&request);
        let namespace = options_namespace(request.get_ref().options.as_ref());
        self.state.setup_default_account(&namespace)?;
        if self.state.shared.auth {
            authorize_admin(caller.as_ref(), &namespace, ID)?;
        }
        let inner = self.state.lock();
        let accounts =
            inner.accounts.values().filter(|a| a.issuer == namespace).map(StoredAccount::to_account).collect();
        Ok(Response::new(ListAccountsResponse { accounts }))
    }

    async fn delete(&self, request: Request<DeleteAccountRequest>) -> Result<Response<DeleteAccountResponse>, Status> {
        const ID: &str = "auth.Accounts.Delete";
        let caller = caller_account(&request);
        let req = request.into_inner();
        if req.id.is_empty() {
            return Err(MicroError::bad_request(ID, "Missing ID").into());
        }
        let namespace = options_namespace(req.options.as_ref());
        if self.state.shared.auth {
            authorize_admin(caller.as_ref(), &namespace, ID)?;
        }
        let mut inner = self.state.lock();
        let target = AuthState::find_account(&inner, &namespace, &req.id)
            .cloned()
            .ok_or_else(|| MicroError::bad_request(ID, "Account not found with this ID"))?;
        if caller.as_ref().is_some_and(|c| c.issuer == target.issuer && c.id == target.id) {
            return Err(MicroError::bad_request(ID, "Can't delete your own account").into());
        }
        self.state
            .shared
            .persist
            .remove(ACCOUNTS_TABLE, &persist_key(&target.issuer, &target.id))
            .map_err(|status| status_to_micro(&status, ID))?;
        inner.accounts.remove(&(target.issuer, target.id));
        Ok(Response::new(DeleteAccountResponse {}))
    }

    async fn change_secret(
        &self,
        request: Request<ChangeSecretRequest>,
    ) -> Result<Response<ChangeSecretResponse>, Status> {
        const ID: &str = "auth.Accounts.ChangeSecret";
        let caller = caller_account(&request);
        let req = request.into_inner();
        if req.new_secret.is_empty() {
            return Err(MicroError::bad_request(ID, "New secret should not be blank").into());
        }
        let namespace = options_namespace(req.options.as_ref());
        if self.state.shared.auth {
            authorize(caller.as_ref(), &namespace, ID)?;
        }
        let target = AuthState::find_account(&self.state.lock(), &namespace, &req.id)
            .cloned()
            .ok_or_else(|| MicroError::bad_request(ID, "Account not found with this ID"))?;
        // A micro admin, or a service of the namespace, may change a secret without the old one.
        let privileged = caller.as_ref().is_some_and(|c| {
            (c.issuer == DEFAULT_NAMESPACE && c.scopes.iter().any(|s| s == "admin"))
                || (c.r#type == "service" && c.issuer == namespace)
        });
        if !privileged && !secrets_match(&target.secret_hash, &req.old_secret) {
            return Err(MicroError::bad_request(ID, "Secret not correct").into());
        }
        let secret_hash = hash_secret(&req.new_secret, ID)?;
        let mut inner = self.state.lock();
        let Some(account) = inner.accounts.get_mut(&(target.issuer.clone(), target.id.clone())) else {
            return Err(MicroError::bad_request(ID, "Account not found with this ID").into());
        };
        let mut updated = account.clone();
        updated.secret_hash = secret_hash;
        self.state.persist_account(&updated, ID)?;
        *account = updated;
        Ok(Response::new(ChangeSecretResponse {}))
    }
}

/// `auth.Rules`.
#[derive(Debug, Clone)]
pub(crate) struct RulesService {
    state: Arc<AuthState>,
}

impl RulesService {
    pub(crate) fn new(state: &Arc<AuthState>) -> Self {
        Self { state: state.clone() }
    }
}

#[tonic::async_trait]
impl Rules for RulesService {
    async fn create(&self, request: Request<CreateRequest>) -> Result<Response<CreateResponse>, Status> {
        const ID: &str = "auth.Rules.Create";
        let caller = caller_account(&request);
        let req = request.into_inner();
        let Some(rule) = req.rule else {
            return Err(MicroError::bad_request(ID, "Rule missing").into());
        };
        if rule.id.is_empty() {
            return Err(MicroError::bad_request(ID, "ID missing").into());
        }
        if rule.resource.is_none() {
            return Err(MicroError::bad_request(ID, "Resource missing").into());
        }
        if rule.access == Access::Unknown as i32 {
            return Err(MicroError::bad_request(ID, "Access missing").into());
        }
        let namespace = options_namespace(req.options.as_ref());
        if self.state.shared.auth {
            authorize_admin(caller.as_ref(), &namespace, ID)?;
        }
        let mut inner = self.state.lock();
        let key = (namespace.clone(), rule.id.clone());
        if inner.rules.contains_key(&key) {
            return Err(MicroError::bad_request(ID, "A rule with this ID already exists").into());
        }
        let stored = StoredRule::from_rule(&rule);
        let value = serde_json::to_vec(&stored)
            .map_err(|e| MicroError::internal_server_error(ID, format!("Unable to marshal rule: {e}")))?;
        self.state
            .shared
            .persist
            .put(RULES_TABLE, &persist_key(&namespace, &rule.id), &value)
            .map_err(|status| status_to_micro(&status, ID))?;
        inner.rules.insert(key, stored);
        Ok(Response::new(CreateResponse {}))
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        const ID: &str = "auth.Rules.Delete";
        let caller = caller_account(&request);
        let req = request.into_inner();
        if req.id.is_empty() {
            return Err(MicroError::bad_request(ID, "ID missing").into());
        }
        let namespace = options_namespace(req.options.as_ref());
        if self.state.shared.auth {
            authorize_admin(caller.as_ref(), &namespace, ID)?;
        }
        let mut inner = self.state.lock();
        let key = (namespace.clone(), req.id.clone());
        if !inner.rules.contains_key(&key) {
            return Err(MicroError::bad_request(ID, "Rule not found").into());
        }
        self.state
            .shared
            .persist
            .remove(RULES_TABLE, &persist_key(&namespace, &req.id))
            .map_err(|status| status_to_micro(&status, ID))?;
        inner.rules.remove(&key);
        inner.rules_seeded.remove(&namespace);
        Ok(Response::new(DeleteResponse {}))
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        const ID: &str = "auth.Rules.List";
        let caller = caller_account(&request);
        let namespace = options_namespace(request.get_ref().options.as_ref());
        if self.state.shared.auth {
            authorize(caller.as_ref(), &namespace, ID)?;
        }
        let rules = self.state.rules_of(&mut self.state.lock(), &namespace);
        Ok(Response::new(ListResponse { rules: rules.iter().map(StoredRule::to_rule).collect() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(issuer: &str, kind: &str, scopes: &[&str]) -> Account {
        Account {
            id: "a".into(),
            r#type: kind.into(),
            issuer: issuer.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    fn rule(id: &str, scope: &str, name: &str, endpoint: &str, access: Access, priority: i32) -> StoredRule {
        StoredRule {
            id: id.into(),
            scope: scope.into(),
            resource_type: "service".into(),
            resource_name: name.into(),
            resource_endpoint: endpoint.into(),
            access: access as i32,
            priority,
        }
    }

    fn resource(name: &str, endpoint: &str) -> Resource {
        Resource { name: name.into(), r#type: "service".into(), endpoint: endpoint.into() }
    }

    #[test]
    fn rules_are_evaluated_like_micro() {
        let read = resource("store", "Store.Read");
        let user = account("micro", "user", &["reader"]);
        // No rule forbids.
        assert!(!verify_access(&[], Some(&user), &read, "micro"));
        // The default rule is public.
        assert!(verify_access(&[StoredRule::default_rule()], None, &read, "micro"));
        // A higher priority denial wins over the default grant, for accounts and the public.
        let deny = rule("deny", "", "store", "*", Access::Denied, 10);
        let rules = [StoredRule::default_rule(), deny];
        assert!(!verify_access(&rules, None, &read, "micro"));
        assert!(!verify_access(&rules, Some(&user), &read, "micro"));
        assert!(verify_access(&rules, None, &resource("config", "Config.Get"), "micro"));
        // Scoped rules need an account holding the scope, of the namespace.
        let scoped = [rule("r", "reader", "STORE", "Store.Read", Access::Granted, 0)];
        assert!(verify_access(&scoped, Some(&user), &read, "micro"));
        assert!(!verify_access(&scoped, None, &read, "micro"));
        assert!(!verify_access(&scoped, Some(&account("micro", "user", &["writer"])), &read, "micro"));
        assert!(!verify_access(&scoped, Some(&user), &read, "other"));
        // "*" is any account of the namespace, "+" any account at all.
        let any = [rule("r", "*", "*", "*", Access::Granted, 0)];
        assert!(verify_access(&any, Some(&user), &read, "micro"));
        assert!(!verify_access(&any, Some(&user), &read, "other"));
        assert!(!verify_access(&any, None, &read, "micro"));
        let anyns = [rule("r", "+", "*", "*", Access::Granted, 0)];
        assert!(verify_access(&anyns, Some(&user), &read, "other"));
        // Path wildcards on endpoints.
        let path = [rule("r", "", "api", "/foo/*", Access::Granted, 0)];
        assert!(verify_access(&path, None, &resource("api", "/foo/bar"), "micro"));
        assert!(!verify_access(&path, None, &resource("api", "/baz/bar"), "micro"));
    }

    #[test]
    fn namespaces_are_authorized_like_micro() {
        let admin_a = account("a", "user", &["admin"]);
        let micro_admin = account("micro", "user", &["admin"]);
        let micro_service = account("micro", "service", &["service"]);
        let plain_a = account("a", "user", &[]);
        assert_eq!(authorize_admin(None, "a", "x").unwrap_err().code, 401);
        assert!(authorize_admin(Some(&admin_a), "a", "x").is_ok());
        let denied = authorize_admin(Some(&admin_a), "b", "x").unwrap_err();
        assert_eq!((denied.code, denied.detail.as_str()), (403, "access denied to namespace"));
        assert_eq!(authorize_admin(Some(&admin_a), "", "x").unwrap_err().code, 403);
        assert!(authorize_admin(Some(&micro_admin), "b", "x").is_ok());
        assert!(authorize_admin(Some(&micro_service), "b", "x").is_ok());
        assert!(authorize(Some(&plain_a), "a", "x").is_ok());
        assert_eq!(authorize_admin(Some(&plain_a), "a", "x").unwrap_err().code, 401);
    }

    #[test]
    fn secrets_hash_and_verify() {
        let hash = hash_secret("s3cret", "x").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(secrets_match(&hash, "s3cret"));
        assert!(!secrets_match(&hash, "wrong"));
        assert!(!secrets_match("not a hash", "s3cret"));
        let uuid = random_uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }
}
