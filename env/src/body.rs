//! The agent body: a cylinder moved by a kinematic character controller against the scene mesh.
