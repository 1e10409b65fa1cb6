"""Training batches: each sample once per epoch, a new seeded order every epoch, disjoint
shards across ranks, and an interrupted epoch continues in the same order after a restart."""

import pytest
import torch

from seqmnist.data.epochs import ResumableBatches, epoch_order


def batches_of(size: int, seed: int = 0, batch_size: int = 4, rank: int = 0, world_size: int = 1):
    samples = torch.arange(size)
    order = epoch_order(size, seed=seed, rank=rank, world_size=world_size)
    return ResumableBatches(samples, samples, batch_size, order)


def epoch(batches: ResumableBatches, number: int) -> list[int]:
    batches.sampler.set_epoch(number)
    return torch.cat([labels for _, labels in batches]).tolist()


def test_every_sample_is_seen_exactly_once_per_epoch():
    assert sorted(epoch(batches_of(37), 0)) == list(range(37))
    assert sorted(epoch(batches_of(37), 1)) == list(range(37))


def test_each_epoch_has_a_different_order():
    batches = batches_of(50)
    assert epoch(batches, 0) != epoch(batches, 1)


def test_the_same_seed_gives_the_same_order_and_another_seed_a_different_one():
    assert epoch(batches_of(50, seed=7), 3) == epoch(batches_of(50, seed=7), 3)
    assert epoch(batches_of(50, seed=7), 3) != epoch(batches_of(50, seed=8), 3)


def test_two_ranks_get_disjoint_equal_shards_of_one_permutation():
    rank0 = epoch(batches_of(41, rank=0, world_size=2), 2)
    rank1 = epoch(batches_of(41, rank=1, world_size=2), 2)
    assert len(rank0) == len(rank1) == 20
    assert not set(rank0) & set(rank1)

    # the one sample left out for evenness changes from epoch to epoch
    def left_out(number: int) -> frozenset[int]:
        shards = [epoch(batches_of(41, rank=r, world_size=2), number) for r in (0, 1)]
        return frozenset(range(41)) - set(shards[0]) - set(shards[1])

    assert len({left_out(number) for number in range(5)}) > 1


def test_length_counts_the_last_partial_batch():
    assert len(batches_of(37, batch_size=4)) == 10
    assert len(list(batches_of(37, batch_size=4))) == 10


def take(batches: ResumableBatches, iterator, count: int) -> list[int]:
    """Consume `count` batches as the training loop does: fetch, then mark as taken."""
    labels = []
    for _ in range(count):
        labels += next(iterator)[1].tolist()
        batches.mark_taken(last_of_epoch=False)
    return labels


def test_a_restart_mid_epoch_continues_the_same_order():
    uninterrupted = epoch(batches_of(50, seed=3), 4)

    first_run = batches_of(50, seed=3)
    first_run.sampler.set_epoch(4)
    iterator = iter(first_run)
    before = take(first_run, iterator, 5)
    next(iterator)  # fetched ahead but never trained on, as Lightning's prefetching does
    state = first_run.state_dict()

    restarted = batches_of(50, seed=3)
    restarted.load_state_dict(state)
    after = torch.cat([labels for _, labels in restarted]).tolist()
    assert before + after == uninterrupted


def test_a_restart_after_a_finished_epoch_starts_the_next_epoch():
    first_run = batches_of(12, seed=3)
    first_run.sampler.set_epoch(2)
    for number, _ in enumerate(first_run, start=1):
        first_run.mark_taken(last_of_epoch=number == len(first_run))
    restarted = batches_of(12, seed=3)
    restarted.load_state_dict(first_run.state_dict())
    assert torch.cat([labels for _, labels in restarted]).tolist() == epoch(
        batches_of(12, seed=3), 3
    )


def test_a_restart_with_another_batch_size_warns_and_restarts_the_epoch(caplog):
    first_run = batches_of(50, batch_size=4)
    take(first_run, iter(first_run), 3)
    restarted = batches_of(50, batch_size=5)
    restarted.load_state_dict(first_run.state_dict())
    assert "cannot continue that order" in caplog.text
    assert len(list(restarted)) == 10


def test_a_rank_outside_the_world_is_rejected():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        epoch_order(10, seed=0, rank=2, world_size=2)


@pytest.mark.parametrize(("size", "world_size"), [(37, 1), (41, 2), (55_000, 1), (55_000, 3)])
def test_the_order_is_the_one_earlier_checkpoints_were_written_with(size, world_size):
    # the order every run so far trained in (and resumes by): permutation of (seed + epoch),
    # cut to a multiple of the world size, every world_size-th position from the rank
    for rank in range(world_size):
        for seed, number in ((42, 0), (42, 5), (7, 1)):
            permutation = torch.randperm(
                size, generator=torch.Generator().manual_seed(seed + number)
            )
            kept = permutation[: size // world_size * world_size]
            expected = kept[rank::world_size].tolist()
            batches = batches_of(size, seed=seed, batch_size=1000, rank=rank, world_size=world_size)
            assert epoch(batches, number) == expected
