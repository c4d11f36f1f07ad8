//! Navigation on the scene: navigable surface, geodesic distances and paths, the expert follower.
