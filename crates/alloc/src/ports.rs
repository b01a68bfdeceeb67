//! Free host port ranges of an agent: take fixed ports, take the lowest free ones, give back.

use serde::{Deserialize, Serialize};

/// A set of ports kept as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
    count: u32,
}

impl PortSet {
    /// Builds a set from any ranges (overlapping, unsorted); ranges with `begin > end` are
    /// ignored (callers validate them first).
    pub fn from_ranges(ranges: &[(u16, u16)]) -> PortSet {
        let mut v: Vec<(u16, u16)> = ranges.iter().copied().filter(|(a, b)| a <= b).collect();
        v.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match merged.last_mut() {
                Some(last) if (a as u32) <= last.1 as u32 + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let count = merged.iter().map(|(a, b)| (*b - *a) as u32 + 1).sum();
        PortSet {
            ranges: merged,
            count,
        }
    }

    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    pub fn len(&self) -> u32 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn find(&self, port: u16) -> Option<usize> {
        // First range whose end >= port.
        let i = self.ranges.partition_point(|r| r.1 < port);
        match self.ranges.get(i) {
            Some(r) if r.0 <= port => Some(i),
            _ => None,
        }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.find(port).is_some()
    }

    /// Removes one port; false if it was not free.
    pub fn take(&mut self, port: u16) -> bool {
        let Some(i) = self.find(port) else {
            return false;
        };
        let (a, b) = self.ranges[i];
        if a == b {
            self.ranges.remove(i);
        } else if port == a {
            self.ranges[i].0 = a + 1;
        } else if port == b {
            self.ranges[i].1 = b - 1;
        } else {
            self.ranges[i].1 = port - 1;
            self.ranges.insert(i + 1, (port + 1, b));
        }
        self.count -= 1;
        true
    }

    /// Removes and returns the lowest free port.
    pub fn take_lowest(&mut self) -> Option<u16> {
        let (a, _) = *self.ranges.first()?;
        self.take(a);
        Some(a)
    }

    /// Gives a port back; false if it was already free.
    pub fn give(&mut self, port: u16) -> bool {
        let i = self.ranges.partition_point(|r| r.1 < port);
        if let Some(r) = self.ranges.get(i) {
            if r.0 <= port {
                return false;
            }
        }
        let joins_prev = i > 0 && self.ranges[i - 1].1 as u32 + 1 == port as u32;
        let joins_next = self
            .ranges
            .get(i)
            .is_some_and(|r| port as u32 + 1 == r.0 as u32);
        match (joins_prev, joins_next) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 = port,
            (false, true) => self.ranges[i].0 = port,
            (false, false) => self.ranges.insert(i, (port, port)),
        }
        self.count += 1;
        true
    }

    /// True if the fixed ports (distinct, non-zero) are free and `dynamic` more remain.
    pub fn can_serve(&self, fixed: &[u16], dynamic: u32) -> bool {
        fixed.iter().all(|p| self.contains(*p)) && self.count >= fixed.len() as u32 + dynamic
    }

    /// Takes ports for a request: `0` entries get the lowest free port, others exactly that port.
    /// Returns the ports in request order, or None (and changes nothing) if it cannot be served.
    pub fn allocate(&mut self, wanted: &[u16]) -> Option<Vec<u16>> {
        let fixed: Vec<u16> = wanted.iter().copied().filter(|p| *p != 0).collect();
        let dynamic = wanted.len() as u32 - fixed.len() as u32;
        if !self.can_serve(&fixed, dynamic) {
            return None;
        }
        for p in &fixed {
            self.take(*p);
        }
        let mut out = Vec::with_capacity(wanted.len());
        for p in wanted {
            if *p == 0 {
                // can_serve guaranteed enough free ports.
                out.push(self.take_lowest().unwrap_or(0));
            } else {
                out.push(*p);
            }
        }
        Some(out)
    }
}
