//! C2SP signed notes (being written).
