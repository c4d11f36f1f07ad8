//! Egocentric CPU rendering (RGB, depth) and top-down maps.
