// Every Keras application, registered (nn/applications/registry.ts). One import line per family.
export * from './registry.ts';
import './mobilenet.ts';
import './mobilenet_v2.ts';
import './efficientnet.ts';
