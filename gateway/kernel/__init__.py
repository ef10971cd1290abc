"""The gateway's shared vocabulary: refusals and their codes, field types, fee kinds, who is calling, and the ports
through which one area hears of another's money. Pure: nothing here does I/O or imports an area."""
