//! [`Scope`]: which accounts' jobs a caller may read or change. Every data function that reads
//! or writes jobs takes one, so a forgotten scope is a compile error rather than a leak.

use super::ids::AccountId;

/// The accounts a request may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One account's jobs (user and worker keys).
    Account(AccountId),
    /// Every account's jobs (administrator keys).
    All,
}

impl Scope {
    /// The one account this scope confines to, `None` for [`Scope::All`].
    pub fn account(self) -> Option<AccountId> {
        match self {
            Self::Account(a) => Some(a),
            Self::All => None,
        }
    }

    /// Whether a job of `account` is visible in this scope.
    pub fn contains(self, account: AccountId) -> bool {
        self.account().is_none_or(|a| a == account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_scope_sees_its_account_only() {
        let (a, b) = (AccountId(1), AccountId(2));
        assert!(Scope::Account(a).contains(a));
        assert!(!Scope::Account(a).contains(b));
        assert!(Scope::All.contains(b));
        assert_eq!(Scope::Account(a).account(), Some(a));
        assert_eq!(Scope::All.account(), None);
    }
}
