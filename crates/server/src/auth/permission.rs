//! MLflow's permissions, and what a request needs of one.

/// A permission, by MLflow's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read.
    Read,
    /// Read and change.
    Edit,
    /// Read, change, delete and manage others' permissions.
    Manage,
    /// Read and use (MLflow 3.17's tier for gateway resources; on an
    /// experiment it reads).
    Use,
    /// Nothing.
    NoPermissions,
    /// Nothing, said explicitly (MLflow 3.17).
    Deny,
}

impl Permission {
    /// From MLflow's name (`READ`, `EDIT`, `MANAGE`, `NO_PERMISSIONS`).
    pub fn parse(name: &str) -> Option<Permission> {
        Some(match name {
            "READ" => Permission::Read,
            "EDIT" => Permission::Edit,
            "MANAGE" => Permission::Manage,
            "USE" => Permission::Use,
            "NO_PERMISSIONS" => Permission::NoPermissions,
            "DENY" => Permission::Deny,
            _ => return None,
        })
    }

    /// MLflow's name.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Edit => "EDIT",
            Permission::Manage => "MANAGE",
            Permission::Use => "USE",
            Permission::NoPermissions => "NO_PERMISSIONS",
            Permission::Deny => "DENY",
        }
    }

    pub(crate) fn can_read(self) -> bool {
        !matches!(self, Permission::NoPermissions | Permission::Deny)
    }

    pub(crate) fn can_use(self) -> bool {
        matches!(
            self,
            Permission::Use | Permission::Edit | Permission::Manage
        )
    }

    pub(crate) fn can_update(self) -> bool {
        matches!(self, Permission::Edit | Permission::Manage)
    }

    pub(crate) fn can_manage(self) -> bool {
        self == Permission::Manage
    }

    pub(crate) fn allows(self, need: Need) -> bool {
        match need {
            Need::Read => self.can_read(),
            Need::Edit => self.can_update(),
            Need::Manage => self.can_manage(),
        }
    }
}

/// What a request needs on its experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Read it.
    Read,
    /// Change it (log, update, tag).
    Edit,
    /// Delete or restore it, or grant permissions on it.
    Manage,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions() {
        assert!(Permission::Read.allows(Need::Read) && !Permission::Read.allows(Need::Edit));
        assert!(Permission::Edit.allows(Need::Edit) && !Permission::Edit.allows(Need::Manage));
        assert!(Permission::Manage.allows(Need::Manage));
        assert!(!Permission::NoPermissions.allows(Need::Read));
        assert!(Permission::Use.allows(Need::Read) && !Permission::Use.allows(Need::Edit));
        assert!(!Permission::Deny.allows(Need::Read));
        for p in ["READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS", "DENY"] {
            assert_eq!(Permission::parse(p).unwrap().name(), p);
        }
    }
}
