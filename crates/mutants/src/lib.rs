//! Deliberately broken WebSocket peers, each with one defect (in progress).
