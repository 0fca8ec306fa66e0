//! Role checks shared by the tenant use cases.

use domain::{Principal, UserRole};

use crate::ServiceError;

/// Refuses with [`ServiceError::Forbidden`] unless `principal`'s role grants `required`.
///
/// Viewers read; agents also write messages, open, close and extend conversations; admins also
/// manage users, API keys, features and Twilio accounts.
///
/// # Errors
/// [`ServiceError::Forbidden`].
pub fn require(principal: &Principal, required: UserRole) -> Result<(), ServiceError> {
    if principal.can(required) { Ok(()) } else { Err(ServiceError::Forbidden { required }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{ApiKeyId, OwnerId, UserId};
    use uuid::Uuid;

    fn principal(role: UserRole) -> Principal {
        let id = Uuid::from_u128(1);
        Principal {
            owner_id: OwnerId::from_uuid(id),
            user_id: UserId::from_uuid(id),
            api_key_id: ApiKeyId::from_uuid(id),
            role,
        }
    }

    #[test]
    fn each_role_grants_itself_and_those_below() {
        use UserRole::{Admin, Agent, Viewer};
        let granted = [
            (Viewer, Viewer, true),
            (Viewer, Agent, false),
            (Viewer, Admin, false),
            (Agent, Viewer, true),
            (Agent, Agent, true),
            (Agent, Admin, false),
            (Admin, Viewer, true),
            (Admin, Agent, true),
            (Admin, Admin, true),
        ];
        for (role, required, allowed) in granted {
            let expected = if allowed { Ok(()) } else { Err(ServiceError::Forbidden { required }) };
            assert_eq!(require(&principal(role), required), expected, "{role} asking for {required}");
        }
    }
}
