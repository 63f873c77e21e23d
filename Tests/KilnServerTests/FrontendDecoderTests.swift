import KilnWire
