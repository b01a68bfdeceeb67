//! Pure allocation core: agents' resources, port ranges and attributes in, placements out.
