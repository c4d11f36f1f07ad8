//! The discrete action space, numbered as in Habitat / VLN-CE (gt files store these integers).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Action {
    Stop = 0,
    MoveForward = 1,
    TurnLeft = 2,
    TurnRight = 3,
    /// RxR-CE v1 action space only; VLN-R1 never predicts it.
    LookUp = 4,
    /// RxR-CE v1 action space only; VLN-R1 never predicts it.
    LookDown = 5,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Stop,
        Action::MoveForward,
        Action::TurnLeft,
        Action::TurnRight,
        Action::LookUp,
        Action::LookDown,
    ];

    /// The Habitat integer.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The Habitat integer back to an action; `None` outside 0..=5.
    pub fn from_id(id: i64) -> Option<Action> {
        usize::try_from(id)
            .ok()
            .and_then(|i| Action::ALL.get(i))
            .copied()
    }

    /// Habitat's name (`STOP`, `MOVE_FORWARD`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Action::Stop => "STOP",
            Action::MoveForward => "MOVE_FORWARD",
            Action::TurnLeft => "TURN_LEFT",
            Action::TurnRight => "TURN_RIGHT",
            Action::LookUp => "LOOK_UP",
            Action::LookDown => "LOOK_DOWN",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.id())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = i64::deserialize(d)?;
        Action::from_id(id).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "action {id} is not a Habitat action (0 STOP, 1 MOVE_FORWARD, 2 TURN_LEFT, 3 TURN_RIGHT, 4 LOOK_UP, 5 LOOK_DOWN)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn ids_match_habitat_and_round_trip_through_json() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(a.id() as usize, i);
            assert_eq!(Action::from_id(i as i64), Some(*a));
        }
        assert_eq!(Action::MoveForward.id(), 1);
        assert_eq!(Action::TurnRight.id(), 3);
        let v: Vec<Action> = serde_json::from_str("[1,2,3,0]").unwrap();
        assert_eq!(
            v,
            [
                Action::MoveForward,
                Action::TurnLeft,
                Action::TurnRight,
                Action::Stop
            ]
        );
        assert_eq!(serde_json::to_string(&v).unwrap(), "[1,2,3,0]");
        let err = serde_json::from_str::<Vec<Action>>("[1,7]").unwrap_err();
        assert!(err.to_string().contains("action 7"), "{err}");
        assert!(serde_json::from_str::<Vec<Action>>("[-1]").is_err());
        assert_eq!(Action::from_id(6), None);
    }
}
