//! Who is on the other end of a socket: the five roles of the contract, and the sender of a
//! command (a device, with or without the press code, or a staff role).

use serde::{Deserialize, Serialize};

use super::question::DeviceId;

/// A connected client's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A phone on the public page.
    Audience,
    /// A journalist's phone, joined with the press code: asks with an outlet.
    Press,
    /// The console: sees everything, moderates.
    Moderator,
    /// The speakers' big screen: reads the queue and the live question.
    Screen,
    /// The TV lower third: reads the live question when it is on air.
    Overlay,
    /// The radio desk: enters questions that came by phone, SMS or on air, and sees its own.
    Desk,
}

impl Role {
    /// All roles, in the order of `presence` counts.
    pub const ALL: [Role; 6] = [
        Role::Audience,
        Role::Press,
        Role::Moderator,
        Role::Screen,
        Role::Overlay,
        Role::Desk,
    ];

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audience => "audience",
            Self::Press => "press",
            Self::Moderator => "moderator",
            Self::Screen => "screen",
            Self::Overlay => "overlay",
            Self::Desk => "desk",
        }
    }

    /// Audience and press ask and vote from a device.
    pub fn is_device(self) -> bool {
        matches!(self, Self::Audience | Self::Press)
    }

    /// Whether the role joins with a key of the session (every role but the audience).
    pub fn has_key(self) -> bool {
        self != Self::Audience
    }

    /// Whether a question asked in this role carries the sender's `outlet`: only press does.
    /// The one place of the outlet rule: the parser reads `outlet` only for such a role, and
    /// `decide` keeps it only for such a sender.
    pub fn carries_outlet(self) -> bool {
        self == Self::Press
    }
}

/// A secret of a session that can be replaced: the key of every socket role but the audience,
/// and the gateways' intake key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// The moderator key.
    Moderator,
    /// The speaker screen's key.
    Screen,
    /// The overlay's key.
    Overlay,
    /// The press code.
    Press,
    /// The radio desk's key.
    Desk,
    /// The gateways' key (the intake API).
    Intake,
}

impl KeyRole {
    /// Every key, in the order the contract lists them.
    pub const ALL: [KeyRole; 6] = [
        Self::Moderator,
        Self::Screen,
        Self::Overlay,
        Self::Press,
        Self::Desk,
        Self::Intake,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            other => other.role().map_or("", Role::as_str),
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The socket role that joins with this key; `None` for the intake key.
    pub fn role(self) -> Option<Role> {
        Some(match self {
            Self::Moderator => Role::Moderator,
            Self::Screen => Role::Screen,
            Self::Overlay => Role::Overlay,
            Self::Press => Role::Press,
            Self::Desk => Role::Desk,
            Self::Intake => return None,
        })
    }
}

/// A staff role: a socket with a key and no device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Staff {
    /// The console.
    Moderator,
    /// The speakers' screen.
    Screen,
    /// The TV overlay.
    Overlay,
    /// The radio desk.
    Desk,
}

/// Who sends a command or holds a socket. Every combination this type allows exists: a phone
/// always has a device, a staff socket never has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    /// An audience phone, or a press phone (`press`) that joined with the press code.
    Device {
        /// The device the phone's token names.
        device: DeviceId,
        /// Joined with the press code.
        press: bool,
    },
    /// A moderator, screen or overlay socket.
    Staff(Staff),
}

impl Who {
    /// An audience phone.
    pub fn audience(device: DeviceId) -> Self {
        Self::Device {
            device,
            press: false,
        }
    }

    /// A press phone.
    pub fn press(device: DeviceId) -> Self {
        Self::Device {
            device,
            press: true,
        }
    }

    /// A moderator.
    pub const MODERATOR: Who = Who::Staff(Staff::Moderator);
    /// A speaker screen.
    pub const SCREEN: Who = Who::Staff(Staff::Screen);
    /// An overlay.
    pub const OVERLAY: Who = Who::Staff(Staff::Overlay);
    /// A radio desk.
    pub const DESK: Who = Who::Staff(Staff::Desk);

    /// The sender of a role: `device` is used by audience and press (and required there; `None`
    /// for them when it is missing), ignored by staff roles.
    pub fn of(role: Role, device: Option<DeviceId>) -> Option<Self> {
        Some(match role {
            Role::Audience => Self::audience(device?),
            Role::Press => Self::press(device?),
            Role::Moderator => Self::MODERATOR,
            Role::Screen => Self::SCREEN,
            Role::Overlay => Self::OVERLAY,
            Role::Desk => Self::DESK,
        })
    }

    /// The role.
    pub fn role(&self) -> Role {
        match self {
            Self::Device { press: false, .. } => Role::Audience,
            Self::Device { press: true, .. } => Role::Press,
            Self::Staff(Staff::Moderator) => Role::Moderator,
            Self::Staff(Staff::Screen) => Role::Screen,
            Self::Staff(Staff::Overlay) => Role::Overlay,
            Self::Staff(Staff::Desk) => Role::Desk,
        }
    }

    /// The device of a phone; `None` for staff.
    pub fn device(&self) -> Option<DeviceId> {
        match self {
            Self::Device { device, .. } => Some(*device),
            Self::Staff(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn roles_round_trip_and_who_has_a_device_exactly_when_its_role_does() {
        let d = Uuid::from_u128(7);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let who = Who::of(role, Some(d)).expect("every role with a device");
            assert_eq!(who.role(), role);
            assert_eq!(who.device().is_some(), role.is_device());
            assert_eq!(Who::of(role, None).is_some(), !role.is_device());
        }
        assert_eq!(Role::parse("admin"), None);
        assert!(Role::Press.carries_outlet());
        assert!(!Role::Audience.carries_outlet());
    }
}
