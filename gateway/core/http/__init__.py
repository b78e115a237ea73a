"""HTTP to the platforms: the recording client (bounded, streamed, every crossing in the
exchange log), the LGSP transport, safe XML, JSON answers read alike, simulator limits."""
