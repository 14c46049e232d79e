//! Phantom cameras: the attacker of the zenoh abuse tests. Liveliness tokens `<prefix>/<name>`
//! with nothing behind them but, optionally, `/info` queryables answering whatever the test
//! chooses (megabytes of junk, a forged document), each reply sent from a task so that large
//! answers never block zenoh's own threads.

use zenoh::bytes::ZBytes;
use zenoh::liveliness::LivelinessToken;

/// Tokens and their queryables' tasks; everything is undeclared or stopped on Drop.
#[derive(Debug)]
pub struct Phantoms {
    _tokens: Vec<LivelinessToken>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Phantoms {
    /// Declares a liveliness token for each camera key (`camera/fake-3`), and when `answer` is
    /// given an info queryable on `<key>/info` answering it to every query.
    pub async fn declare(
        session: &zenoh::Session,
        keys: impl IntoIterator<Item = String>,
        answer: Option<Vec<u8>>,
    ) -> Self {
        let answer = answer.map(ZBytes::from);
        let mut phantoms = Self {
            _tokens: Vec::new(),
            tasks: Vec::new(),
        };
        for key in keys {
            if let Some(answer) = &answer {
                phantoms
                    .tasks
                    .push(answer_info(session, &key, answer.clone()).await);
            }
            let token = session
                .liveliness()
                .declare_token(key.clone())
                .await
                .unwrap_or_else(|error| panic!("declare token {key}: {error}"));
            phantoms._tokens.push(token);
        }
        phantoms
    }
}

impl Drop for Phantoms {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A queryable on `<key>/info` answering `answer`, served by a task until aborted.
pub async fn answer_info(
    session: &zenoh::Session,
    key: &str,
    answer: ZBytes,
) -> tokio::task::JoinHandle<()> {
    let info = format!("{key}/info");
    let queryable = session
        .declare_queryable(info.clone())
        .await
        .unwrap_or_else(|error| panic!("declare queryable {info}: {error}"));
    tokio::spawn(async move {
        while let Ok(query) = queryable.recv_async().await {
            let _ = query.reply(info.clone(), answer.clone()).await;
        }
    })
}
