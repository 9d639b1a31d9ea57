//! `--shard K/N`: which cells of the sorted matrix one process runs, from the
//! flag or from a SLURM array's environment.

use anyhow::Context;

/// `--shard K/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("--shard is {text}; expected K/N, e.g. 0/4"))?;
        let (index, count): (u32, u32) = (
            k.trim()
                .parse()
                .with_context(|| format!("--shard {text}"))?,
            n.trim()
                .parse()
                .with_context(|| format!("--shard {text}"))?,
        );
        anyhow::ensure!(
            count >= 1 && index < count,
            "--shard is {text}; expected 0 ≤ K < N"
        );
        Ok(Self { index, count })
    }

    /// From `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT` (and
    /// `SLURM_ARRAY_TASK_MIN`, so arrays numbered from 1 work) when set.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Self>> {
        let (Some(id), Some(count)) = (get("SLURM_ARRAY_TASK_ID"), get("SLURM_ARRAY_TASK_COUNT"))
        else {
            return Ok(None);
        };
        let id: u32 = id.parse().context("SLURM_ARRAY_TASK_ID")?;
        let count: u32 = count.parse().context("SLURM_ARRAY_TASK_COUNT")?;
        let min: u32 = get("SLURM_ARRAY_TASK_MIN")
            .map(|m| m.parse())
            .transpose()
            .context("SLURM_ARRAY_TASK_MIN")?
            .unwrap_or(0);
        Self::parse(&format!("{}/{count}", id.saturating_sub(min))).map(Some)
    }

    /// The `--shard` flag's value, else the environment's, else every cell.
    pub fn from_flag_or_env(flag: Option<&str>) -> anyhow::Result<Self> {
        match flag {
            Some(text) => Self::parse(text),
            None => Ok(Self::from_env(|k| std::env::var(k).ok())?.unwrap_or(Self::ALL)),
        }
    }

    pub fn takes(self, position: usize) -> bool {
        position % self.count as usize == self.index as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_and_parse() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("1").is_err());
        let shards: Vec<Shard> = (0..3).map(|k| Shard { index: k, count: 3 }).collect();
        for i in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.takes(i)).count(), 1);
        }
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.to_string())
        };
        assert_eq!(Shard::from_env(env(&[])).unwrap(), None);
        assert_eq!(
            Shard::from_env(env(&[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1")
            ]))
            .unwrap(),
            Some(Shard { index: 2, count: 4 })
        );
    }
}
