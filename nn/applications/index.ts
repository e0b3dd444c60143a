// Every Keras application, registered (nn/applications/registry.ts). One import line per family.
export * from './registry.ts';
import './vgg16.ts';
import './xception.ts';
import './inception_v3.ts';
import './resnet50.ts';
import './densenet121.ts';
import './mobilenet.ts';
import './mobilenet_v2.ts';
import './efficientnet.ts';
