from gongzhi.areas.models import Area


def test_world_builds_paths(world):
    assert world.grid_a1.path.startswith(world.street_a.path)
    assert set(Area.objects.under(world.street_a)) == set(world.areas_of_a())
