//! The tables the loop keeps by index (instances, pumps, sinks, connections) are
//! `Vec<Option<T>>`: an index stays valid while its entry lives, and a freed one is a hole
//! that a later entry may reuse. These are the one way to look an entry up.

/// The live entry at `index`, if any.
pub fn get<T>(table: &[Option<T>], index: usize) -> Option<&T> {
    table.get(index).and_then(Option::as_ref)
}

/// The live entry at `index`, if any, for changing.
pub fn get_mut<T>(table: &mut [Option<T>], index: usize) -> Option<&mut T> {
    table.get_mut(index).and_then(Option::as_mut)
}

/// The index of the first hole, made at the end if there is none; the caller fills it.
pub fn vacant<T>(table: &mut Vec<Option<T>>) -> usize {
    match table.iter().position(Option::is_none) {
        Some(i) => i,
        None => {
            table.push(None);
            table.len() - 1
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn holes_are_reused_and_never_found() {
        let mut table = vec![Some(1), None, Some(3)];
        assert_eq!(super::get(&table, 1), None);
        assert_eq!(super::get(&table, 7), None);
        assert_eq!(super::vacant(&mut table), 1);
        table[1] = Some(2);
        assert_eq!(super::vacant(&mut table), 3);
        table[3] = Some(4);
        if let Some(v) = super::get_mut(&mut table, 0) {
            *v = 10;
        }
        assert_eq!(table, vec![Some(10), Some(2), Some(3), Some(4)]);
    }
}
