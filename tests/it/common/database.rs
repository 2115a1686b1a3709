//! A fresh database per test, on the server in DATABASE_URL or, without it, on a temporary
//! server started once for the whole test binary.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};
use strexforce::store::temp_server::{Durability, TempServer};
use strexforce::store::{PoolSettings, Store};
use tokio::sync::OnceCell;
use url::Url;

/// Where test databases are created: a URL whose database part is replaced per test.
static SERVER_URL: OnceCell<Url> = OnceCell::const_new();
/// Kept here so that the destructor below can stop it when the test binary exits.
static TEMP_SERVER: Mutex<Option<TempServer>> = Mutex::new(None);
static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);

#[dtor::dtor(unsafe)]
fn stop_temp_server() {
    if let Ok(mut server) = TEMP_SERVER.lock() {
        server.take();
    }
}

/// A database of its own for one test, with the migrations applied unless made `empty`.
pub struct TestDb {
    pub url: String,
    pub store: Store,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let db = TestDb::empty().await;
        db.store.migrate().await.expect("migrations apply");
        db
    }

    /// A database of its own without the migrations, as `createdb` leaves it.
    pub async fn empty() -> TestDb {
        let server = SERVER_URL.get_or_init(server_url).await;
        let name = format!(
            "strexforce_test_{}_{}",
            std::process::id(),
            NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(server.as_str())
            .await
            .expect("connect to Postgres");
        let create = format!("CREATE DATABASE {name}");
        admin
            .execute(sqlx::AssertSqlSafe(create))
            .await
            .expect("create a test database (the DATABASE_URL user needs CREATEDB)");
        // A test database need not survive a crash of the server, only of strexforce, so
        // commits do not wait for the disk (as on the temporary server).
        let relaxed = format!("ALTER DATABASE {name} SET synchronous_commit = off");
        admin
            .execute(sqlx::AssertSqlSafe(relaxed))
            .await
            .expect("relax the test database's durability");
        let mut url = server.clone();
        url.set_path(&format!("/{name}"));
        let store = Store::connect(url.as_str(), &test_pool())
            .await
            .expect("connect");
        TestDb {
            url: url.to_string(),
            store,
        }
    }
}

async fn server_url() -> Url {
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) => Url::parse(&url).expect("DATABASE_URL is a URL"),
        Err(_) => start_temp_server().await,
    };
    drop_leftover_databases(&url).await;
    url
}

async fn start_temp_server() -> Url {
    let server = TempServer::start(Durability::Relaxed)
        .await
        .unwrap_or_else(|error| panic!("no DATABASE_URL and no temporary server: {error}"));
    let url = Url::parse(&server.url("postgres")).expect("temp server URL");
    *TEMP_SERVER.lock().expect("server lock") = Some(server);
    url
}

/// Databases of earlier test runs whose process is gone: they would pile up on a shared
/// server otherwise.
async fn drop_leftover_databases(server: &Url) {
    let Ok(mut admin) = PgConnection::connect(server.as_str()).await else {
        return;
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'strexforce_test_%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap_or_default();
    for name in names {
        let pid = name
            .split('_')
            .nth(2)
            .and_then(|pid| pid.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = admin.execute(sqlx::AssertSqlSafe(drop)).await;
        }
    }
}

/// Small pools with patient waits: tests share one server (and its max_connections) with
/// each other and, on a busy machine, a slow start is no reason to fail.
pub fn test_pool() -> PoolSettings {
    PoolSettings {
        max_connections: 4,
        acquire_timeout: std::time::Duration::from_secs(20),
    }
}
