//! What a placed object is: one enum shared by furnishing, the model builder and instruction generation.
//!
//! The scene metadata keeps labels as plain English strings ([`Label::as_str`]), so metadata files of any
//! scene read unchanged; code that needs to know what an object is parses the string back
//! ([`str::parse`]).

use std::fmt;
use std::str::FromStr;

/// The label of a furniture item, landmark or architectural part of a generated house.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    Bed,
    Nightstand,
    Dresser,
    Sideboard,
    FilingCabinet,
    TvStand,
    Wardrobe,
    Sofa,
    Armchair,
    CoffeeTable,
    SideTable,
    DiningTable,
    KitchenTable,
    Desk,
    Chair,
    OfficeChair,
    Tv,
    Bookshelf,
    Shelf,
    Plant,
    FloorLamp,
    Fridge,
    Stove,
    Counter,
    Sink,
    Bathtub,
    Toilet,
    WashingMachine,
    Dryer,
    TrashCan,
    LaundryBasket,
    CoatRack,
    Bench,
    Rug,
    Staircase,
    Railing,
    Painting,
    Window,
    Mirror,
    Clock,
    FrontDoor,
    Computer,
}

impl Label {
    /// Every label, in declaration order.
    pub const ALL: [Label; 42] = [
        Label::Bed,
        Label::Nightstand,
        Label::Dresser,
        Label::Sideboard,
        Label::FilingCabinet,
        Label::TvStand,
        Label::Wardrobe,
        Label::Sofa,
        Label::Armchair,
        Label::CoffeeTable,
        Label::SideTable,
        Label::DiningTable,
        Label::KitchenTable,
        Label::Desk,
        Label::Chair,
        Label::OfficeChair,
        Label::Tv,
        Label::Bookshelf,
        Label::Shelf,
        Label::Plant,
        Label::FloorLamp,
        Label::Fridge,
        Label::Stove,
        Label::Counter,
        Label::Sink,
        Label::Bathtub,
        Label::Toilet,
        Label::WashingMachine,
        Label::Dryer,
        Label::TrashCan,
        Label::LaundryBasket,
        Label::CoatRack,
        Label::Bench,
        Label::Rug,
        Label::Staircase,
        Label::Railing,
        Label::Painting,
        Label::Window,
        Label::Mirror,
        Label::Clock,
        Label::FrontDoor,
        Label::Computer,
    ];

    /// The English noun written to the scene metadata and used in instructions.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Bed => "bed",
            Label::Nightstand => "nightstand",
            Label::Dresser => "dresser",
            Label::Sideboard => "sideboard",
            Label::FilingCabinet => "filing cabinet",
            Label::TvStand => "tv stand",
            Label::Wardrobe => "wardrobe",
            Label::Sofa => "sofa",
            Label::Armchair => "armchair",
            Label::CoffeeTable => "coffee table",
            Label::SideTable => "side table",
            Label::DiningTable => "dining table",
            Label::KitchenTable => "kitchen table",
            Label::Desk => "desk",
            Label::Chair => "chair",
            Label::OfficeChair => "office chair",
            Label::Tv => "tv",
            Label::Bookshelf => "bookshelf",
            Label::Shelf => "shelf",
            Label::Plant => "plant",
            Label::FloorLamp => "floor lamp",
            Label::Fridge => "fridge",
            Label::Stove => "stove",
            Label::Counter => "counter",
            Label::Sink => "sink",
            Label::Bathtub => "bathtub",
            Label::Toilet => "toilet",
            Label::WashingMachine => "washing machine",
            Label::Dryer => "dryer",
            Label::TrashCan => "trash can",
            Label::LaundryBasket => "laundry basket",
            Label::CoatRack => "coat rack",
            Label::Bench => "bench",
            Label::Rug => "rug",
            Label::Staircase => "staircase",
            Label::Railing => "railing",
            Label::Painting => "painting",
            Label::Window => "window",
            Label::Mirror => "mirror",
            Label::Clock => "clock",
            Label::FrontDoor => "front door",
            Label::Computer => "computer",
        }
    }

    /// Whether instructions may name the object as a landmark to pass or stop at: not those too small, on
    /// walls everywhere, or walked over.
    pub fn is_landmark(self) -> bool {
        !matches!(
            self,
            Label::Painting
                | Label::Window
                | Label::Mirror
                | Label::Clock
                | Label::Computer
                | Label::Railing
                | Label::Rug
                | Label::Staircase
        )
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Label`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown object label {0:?}")]
pub struct UnknownLabel(pub String);

impl FromStr for Label {
    type Err = UnknownLabel;

    fn from_str(s: &str) -> Result<Label, UnknownLabel> {
        Label::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownLabel(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_their_strings() {
        for label in Label::ALL {
            assert_eq!(label.as_str().parse::<Label>(), Ok(label));
        }
        let strings: std::collections::HashSet<_> = Label::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(strings.len(), Label::ALL.len(), "two labels share a string");
        assert_eq!(
            "lamp".parse::<Label>(),
            Err(UnknownLabel("lamp".to_owned()))
        );
    }
}
