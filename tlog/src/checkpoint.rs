//! C2SP tlog-checkpoint (being written).
