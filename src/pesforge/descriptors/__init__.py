"""pesforge.descriptors"""
