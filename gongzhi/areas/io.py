def to_geojson_bytes(qs) -> bytes:
    raise NotImplementedError
