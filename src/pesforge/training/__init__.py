"""pesforge.training"""
